// Clients registered with the authorization server: a page at a time by status, one in full,
// revoke (the kill-switch: grants, refresh tokens and codes go too) and reinstate; the
// software statements this entity issued.
import { h, json, route, status, table, when } from './dom.js'
import { api, ApiError, can } from './api.js'
import { confirmAction } from './confirm.js'

const PAGE = 50

export async function render(main, params) {
  main.append(h('h1', {}, 'Clients'))
  if (params.id) return one(main, params.id)
  const st = ['active', 'revoked'].includes(params.status) ? params.status : ''
  let page
  try {
    page = (await api('GET', 'clients', { query: { limit: PAGE, status: st, after: params.after } })).body
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err
    main.append(h('p', { class: 'notice' }, 'This deployment has no authorization server: no clients register here.'))
    return
  }
  const items = page.items ?? []
  main.append(items.length === 0 ? h('p', { class: 'notice' }, 'No clients.') : table('Registered clients', ['Client id', 'Entity', 'Type', 'Status', 'Registered', 'Chain expires'], items.map((c) => [
    h('a', { href: route('clients', { id: c.client_id }), class: 'mono' }, c.client_id), h('span', { class: 'mono' }, c.entity_id ?? ''), c.registration_type ?? '', status(c.status), when(c.registered_at), when(c.chain_exp),
  ])))
  if (page.next) main.append(h('nav', { class: 'pager', 'aria-label': 'Pages' }, h('a', { href: route('clients', { status: st, after: page.next }), rel: 'next' }, 'Next →')))
  try {
    const statements = (await api('GET', 'software-statements', { query: { limit: PAGE } })).body.items ?? []
    const message = h('div', { 'aria-live': 'polite' })
    main.append(h('h2', {}, 'Software statements'), message, statements.length === 0 ? h('p', {}, 'None issued.') : table('Software statements issued', ['jti', 'Software id', 'Client name', 'Status', 'Expires', ''], statements.map((s) => [
      h('span', { class: 'mono' }, s.jti), s.software_id, s.client_name ?? '', status(s.status), when(s.exp),
      s.status === 'active' && can('POST /software-statements/revoke') ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmAction(`Revoke software statement ${s.jti}?`, ['Registrations presenting it are refused from now on, and its status endpoint answers revoked.'], 'Revoke'))) return
        try {
          await api('POST', 'software-statements/revoke', { body: { jti: s.jti } })
          location.hash = route('clients', { t: String(Date.now()) })
        } catch (err) {
          message.append(h('p', { class: 'failure-box', role: 'alert' }, err.message))
        }
      } }, 'Revoke') : '',
    ])))
  } catch (err) {
    main.append(h('p', { class: 'help' }, err.message))
  }
}

async function one(main, id) {
  const c = (await api('GET', `clients/${encodeURIComponent(id)}`)).body
  main.append(h('h2', {}, h('span', { class: 'mono' }, id), ' ', status(c.status)))
  const message = h('div', { 'aria-live': 'polite' })
  const actions = h('div', { class: 'actions' })
  if (c.status === 'active' && can('POST /clients/:id/revoke')) {
    actions.append(h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!(await confirmAction(`Revoke ${id}?`, ['It can no longer obtain tokens; its grants, refresh tokens and authorization codes are revoked with it.'], 'Revoke'))) return
      try {
        await api('POST', `clients/${encodeURIComponent(id)}/revoke`)
        location.hash = route('clients', { id, t: String(Date.now()) })
      } catch (err) {
        message.append(h('p', { class: 'failure-box', role: 'alert' }, err.message))
      }
    } }, 'Revoke'))
  }
  if (c.status !== 'active' && can('POST /clients/:id/reinstate')) {
    actions.append(h('button', { type: 'button', onclick: async () => {
      if (!(await confirmAction(`Reinstate ${id}?`, ['It may obtain tokens again (its revoked grants stay revoked).'], 'Reinstate'))) return
      await api('POST', `clients/${encodeURIComponent(id)}/reinstate`)
      location.hash = route('clients', { id, t: String(Date.now()) })
    } }, 'Reinstate'))
  }
  main.append(actions, message, json(c), h('p', {}, h('a', { href: route('audit', { subject: id }) }, 'Its audit trail')))
}
