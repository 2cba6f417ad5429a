// Trust marks this entity issues: the types, who holds what, issue and revoke (operator role).
import { h, json, route, status, table, when } from './dom.js'
import { api, ApiError, can } from './api.js'
import { confirmAction } from './confirm.js'

export async function render(main, params) {
  main.append(h('h1', {}, 'Trust marks'))
  let types
  try {
    types = (await api('GET', 'trust-mark-types')).body.items ?? []
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err
    main.append(h('p', { class: 'notice' }, 'This deployment issues no trust marks (the trust_marks capability is off).'))
    return
  }
  main.append(h('h2', {}, 'Types'))
  main.append(types.length === 0 ? h('p', {}, 'No trust mark type yet.') : table('', ['Type', 'Definition'], types.map((t) => [
    h('a', { href: route('trust-marks', { trust_mark_type: t.trust_mark_type ?? t.id }), class: 'mono' }, t.trust_mark_type ?? t.id), h('details', {}, h('summary', {}, 'show'), json(t)),
  ])))

  const type = params.trust_mark_type ?? ''
  const sub = params.sub ?? ''
  const form = h('form', { class: 'filters card', 'aria-label': 'Holders',
    onsubmit: (e) => {
      e.preventDefault()
      location.hash = route('trust-marks', { trust_mark_type: form.querySelector('#tm-type').value.trim(), sub: form.querySelector('#tm-sub').value.trim() })
    } },
  h('div', {}, h('label', { for: 'tm-type' }, 'Type'), h('input', { id: 'tm-type', type: 'text', value: type, spellcheck: 'false' })),
  h('div', {}, h('label', { for: 'tm-sub' }, 'Holder (entity id)'), h('input', { id: 'tm-sub', type: 'text', value: sub, spellcheck: 'false' })),
  h('button', { type: 'submit', class: 'secondary' }, 'Show holders'))
  main.append(h('h2', {}, 'Who holds what'), form)
  const message = h('div', { 'aria-live': 'polite' })
  main.append(message)
  if (type || sub) {
    const marks = (await api('GET', 'trust-marks', { query: { trust_mark_type: type, sub } })).body.items ?? []
    main.append(marks.length === 0 ? h('p', {}, 'None.') : table('Issued marks', ['Type', 'Holder', 'Status', 'Issued', 'Expires', ''], marks.map((m) => [
      h('span', { class: 'mono' }, m.trust_mark_type), h('a', { href: route(`members/${encodeURIComponent(m.sub)}`), class: 'mono' }, m.sub), status(m.status), when(m.iat), when(m.exp),
      m.status === 'active' && can('POST /trust-marks/revoke') ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmAction(`Revoke ${m.trust_mark_type} of ${m.sub}?`, ['Its status endpoint answers revoked from now on; resolvers drop the mark and registrations that require it are refused.'], 'Revoke'))) return
        try {
          await api('POST', 'trust-marks/revoke', { body: { trust_mark_type: m.trust_mark_type, sub: m.sub } })
          location.hash = route('trust-marks', { trust_mark_type: type, sub, t: String(Date.now()) })
        } catch (err) {
          message.append(h('p', { class: 'failure-box', role: 'alert' }, err.message))
        }
      } }, 'Revoke') : '',
    ])))
  }
  if (can('POST /trust-marks')) {
    const issue = h('form', { class: 'card', 'aria-label': 'Issue a trust mark',
      onsubmit: async (e) => {
        e.preventDefault()
        const body = { trust_mark_type: issue.querySelector('#issue-type').value.trim(), sub: issue.querySelector('#issue-sub').value.trim() }
        try {
          await api('POST', 'trust-marks', { body })
          location.hash = route('trust-marks', { trust_mark_type: body.trust_mark_type, sub: body.sub, t: String(Date.now()) })
        } catch (err) {
          message.append(h('p', { class: 'failure-box', role: 'alert' }, err.message))
        }
      } },
    h('h2', {}, 'Issue'),
    h('label', { for: 'issue-type' }, 'Type'), h('input', { id: 'issue-type', type: 'text', required: true, value: type, spellcheck: 'false' }),
    h('label', { for: 'issue-sub' }, 'Holder (entity id)'), h('input', { id: 'issue-sub', type: 'url', required: true, value: sub, spellcheck: 'false' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Issue')))
    main.append(issue)
  }
}
