// The audit log: oldest first, a page at a time, filtered by actor, action, subject and time,
// and exported (the API's export: every matching event, as NDJSON or CSV, a plain download).
import { h, json, route, status, table, when } from './dom.js'
import { ADMIN, api } from './api.js'

const PAGE = 100

export async function render(main, params) {
  const filters = { actor: params.actor ?? '', action: params.action ?? '', subject: params.subject ?? '', since: params.since ?? '', until: params.until ?? '' }
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
  field('actor', 'Actor', filters.actor, 'alice'),
  field('action', 'Action', filters.action, 'subordinate.suspend'),
  field('subject', 'Subject', filters.subject, 'https://member.example.org'),
  field('since', 'From (inclusive)', filters.since, '2026-12-01 or 2026-12-01T10:00:00Z'),
  field('until', 'Until (exclusive)', filters.until, '2026-12-02'),
  h('button', { type: 'submit' }, 'Filter'))
  main.append(form)
  const exportUrl = (format) => {
    const url = new URL('audit/export', ADMIN)
    url.searchParams.set('format', format)
    for (const [k, v] of Object.entries(filters)) if (v) url.searchParams.set(k, v)
    return url.href
  }
  main.append(h('p', { class: 'actions' }, 'Export every matching event: ',
    h('a', { href: exportUrl('csv'), download: true }, 'CSV'), ' ',
    h('a', { href: exportUrl('ndjson'), download: true }, 'NDJSON')))
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
