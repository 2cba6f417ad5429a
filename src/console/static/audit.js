// The audit log: oldest first, a page at a time, filtered by action and subject.
import { h, json, route, status, table, when } from './dom.js'
import { api } from './api.js'

const PAGE = 100

export async function render(main, params) {
  const filters = { action: params.action ?? '', subject: params.subject ?? '' }
  const after = params.after ?? ''
  const page = await api('GET', 'audit', { query: { limit: PAGE, after, ...filters } })
  const events = Array.isArray(page.body.events) ? page.body.events : []
  main.append(h('h1', {}, 'Audit log'))
  const form = h('form', { class: 'filters card', 'aria-label': 'Filter the audit log',
    onsubmit: (e) => {
      e.preventDefault()
      const q = {}
      for (const name of Object.keys(filters)) q[name] = form.querySelector(`#audit-${name}`).value.trim()
      location.hash = route('audit', q)
    } },
  field('action', 'Action', filters.action, 'subordinate.suspend'),
  field('subject', 'Subject', filters.subject, 'https://member.example.org'),
  h('button', { type: 'submit' }, 'Filter'))
  main.append(form)
  main.append(events.length === 0 ? h('p', { class: 'notice' }, 'No events.') : table('Events, oldest first', ['#', 'Time', 'Actor', 'Action', 'Subject', 'Outcome', 'Detail'],
    events.map((e) => [String(e.seq), when(e.time), e.actor, h('span', { class: 'mono' }, e.action), h('span', { class: 'mono' }, e.subject ?? ''), status(e.outcome), e.detail ? h('details', {}, h('summary', {}, 'detail'), json(e.detail)) : ''])))
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' })
  if (after) pager.append(h('a', { href: route('audit', filters) }, '⇤ First'))
  if (page.body.next !== undefined) pager.append(h('a', { href: route('audit', { ...filters, after: String(page.body.next) }), rel: 'next' }, 'Next →'))
  main.append(pager)
}

function field(name, label, value, placeholder) {
  return h('div', {}, h('label', { for: `audit-${name}` }, label), h('input', { id: `audit-${name}`, type: 'text', value, placeholder, spellcheck: 'false' }))
}
