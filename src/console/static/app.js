// The console's entry: who is logged in, the navigation, and the views by route (#/members, ...).
// Every view is a module under this directory exporting `render(main, params, context)`; the
// table in views.js is where a new view is added.
import { h, clear, focusHeading } from './dom.js'
import { ApiError, LOGIN, can, loadSession, logout } from './api.js'
import { VIEWS } from './views.js'

const main = document.getElementById('main')
let session

async function start() {
  session = await loadSession().catch((err) => {
    show(err)
    return null
  })
  if (session === null) return
  if (!session) {
    location.assign(LOGIN)
    return
  }
  const whoami = document.getElementById('whoami')
  whoami.append(
    h('span', { 'data-testid': 'operator' }, `${session.operator} (${session.role})`),
    session.via === 'session' ? h('button', { type: 'button', onclick: () => void logout() }, 'Log out') : null,
  )
  const nav = document.getElementById('nav')
  for (const v of VIEWS) if (v.nav && (!v.requires || can(v.requires))) nav.append(h('li', {}, h('a', { href: `#/${v.path}`, 'data-path': v.path }, v.nav)))
  window.addEventListener('hashchange', () => void render())
  await render()
}

/** `#/members/https%3A%2F%2Fx?status=active` -> the view `members/:id`, params {id, status}. */
function parse(hash) {
  const text = hash.startsWith('#/') ? hash.slice(2) : ''
  const q = text.indexOf('?')
  const path = q === -1 ? text : text.slice(0, q)
  const params = Object.fromEntries(new URLSearchParams(q === -1 ? '' : text.slice(q + 1)))
  const segments = path.split('/').filter(Boolean)
  for (const v of VIEWS) {
    const pattern = v.path.split('/')
    if (pattern.length !== Math.max(1, segments.length)) continue
    const found = {}
    let ok = true
    pattern.forEach((p, i) => {
      if (p.startsWith(':')) found[p.slice(1)] = decodeURIComponent(segments[i] ?? '')
      else if (p !== (segments[i] ?? VIEWS[0].path)) ok = false
    })
    if (ok) return { view: v, params: { ...params, ...found } }
  }
  return undefined
}

let rendering = 0
async function render() {
  // A hash that is not a route (the skip link's #main) leaves the view as it is.
  if (location.hash && !location.hash.startsWith('#/')) return
  const target = parse(location.hash || `#/${VIEWS[0].path}`)
  const ticket = ++rendering
  clear(main)
  if (!target) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, 'No view here. '), h('a', { href: '#/members' }, 'Members'))
    return
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.path === target.view.path.split('/')[0]) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  document.title = `${target.view.title} · Anchorage console`
  main.append(h('p', { class: 'loading' }, 'Loading…'))
  try {
    const mod = await target.view.load()
    if (ticket !== rendering) return
    const section = h('div', {})
    await mod.render(section, target.params, { session })
    if (ticket !== rendering) return
    clear(main).append(section)
    focusHeading(main)
  } catch (err) {
    if (ticket !== rendering) return
    show(err)
  }
}

function show(err) {
  clear(main).append(h('h1', {}, 'Something went wrong'), h('p', { class: 'failure-box', role: 'alert' }, err instanceof ApiError ? `${err.code ?? err.status}: ${err.message}` : String(err?.message ?? err)))
}

void start()
