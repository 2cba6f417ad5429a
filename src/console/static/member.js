// One member: its record, the statements (decoded), keys and pending key changes, metadata
// policy and constraints, trust marks, and its audit trail; the actions the operator's role
// allows (suspend, reinstate, remove, approve or reject pending keys), each confirmed.
import { h, json, facts, route, status, table, when } from './dom.js'
import { api, ApiError, can, decodeJwt } from './api.js'
import { confirmAction } from './confirm.js'

export async function render(main, params, { session }) {
  const id = params.id
  const path = `subordinates/${encodeURIComponent(id)}`
  let m
  // GET .../detail: the record, the statement /fetch serves and the marks issued, in one answer.
  let detail
  try {
    detail = await api('GET', `${path}/detail`).then((r) => r.body, (err) => {
      if (err instanceof ApiError && err.status === 404 && err.code === 'not_found' && /no such endpoint/.test(err.message)) return undefined
      throw err
    })
    m = detail ? detail.member : (await api('GET', path)).body
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      main.append(h('h1', {}, 'No such member'), h('p', { class: 'failure-box', role: 'alert' }, err.message), h('a', { href: route('members') }, 'Back to the members'))
      return
    }
    throw err
  }
  main.append(h('h1', {}, h('span', { class: 'mono' }, m.entity_id)))
  main.append(h('p', {}, status(m.status), ' ', m.intermediate ? 'intermediate' : 'leaf', ' · ', (m.entity_types ?? []).join(', ')))

  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' })
  const act = (label, cls, permission, method, apiPath, what) => {
    if (!can(permission)) return
    actions.append(h('button', { type: 'button', class: cls, onclick: async () => {
      const details = await consequences(m, label)
      if (!(await confirmAction(`${label} ${m.entity_id}?`, [what, ...details], label))) return
      try {
        await api(method, apiPath)
        location.hash = method === 'DELETE' ? route('members') : route(`members/${encodeURIComponent(m.entity_id)}`, { t: String(Date.now()) })
      } catch (err) {
        actions.after(h('p', { class: 'failure-box', role: 'alert' }, err.message))
      }
    } }, label))
  }
  if (m.status === 'active') act('Suspend', 'danger', 'POST /subordinates/:id/suspend', 'POST', `${path}/suspend`, 'Its subordinate statement is no longer published: chains through it stop resolving, and clients registered from it can no longer obtain tokens.')
  else act('Reinstate', '', 'POST /subordinates/:id/reinstate', 'POST', `${path}/reinstate`, 'Its subordinate statement is published again: chains through it resolve again.')
  act('Remove', 'danger', 'DELETE /subordinates/:id', 'DELETE', path, 'The member record is deleted: its subordinate statement and everything that depends on it stop working, for good.')
  actions.append(h('a', { class: 'button', href: route('resolve', { sub: m.entity_id, trust_anchor: session.entity_id }) }, 'Resolve it'))
  main.append(actions)

  main.append(h('h2', {}, 'Record'), facts([
    ['Entity id', m.entity_id], ['Status', m.status], ['Entity types', (m.entity_types ?? []).join(', ')],
    ['Intermediate', m.intermediate ? 'yes' : 'no'], ['Created', when(m.created_at)], ['Updated', when(m.updated_at)],
    ['Source endpoint', m.source_endpoint],
  ]))

  main.append(h('h2', {}, 'Keys'))
  const keys = Array.isArray(m.jwks?.keys) ? m.jwks.keys : []
  main.append(table('Keys this entity vouches for', ['kid', 'kty', 'alg', 'crv / size'], keys.map((k) => [h('span', { class: 'mono' }, k.kid ?? ''), k.kty ?? '', k.alg ?? '', k.crv ?? (k.n ? `${Math.round((k.n.length * 6) / 8) * 8} bits` : '')])))
  if (m.pending_keys) {
    const p = m.pending_keys
    main.append(h('div', { class: 'card' },
      h('h3', {}, 'Pending key change'),
      h('p', {}, `Seen ${when(p.seen_at)}, signed with ${p.signed_with ?? 'a key this entity does not vouch for'}: check it with the member out of band before approving.`),
      facts([['New kids', (p.kids ?? []).join(', ')]]),
      h('details', {}, h('summary', {}, 'Pending keys'), json(p.jwks)),
      h('div', { class: 'actions' },
        can('POST /subordinates/:id/approve') ? h('button', { type: 'button', onclick: () => void keyDecision(path, 'approve', m) }, 'Approve keys') : null,
        can('POST /subordinates/:id/reject') ? h('button', { type: 'button', class: 'danger', onclick: () => void keyDecision(path, 'reject', m) }, 'Reject keys') : null)))
  }

  main.append(h('h2', {}, 'Metadata policy and constraints'))
  main.append(h('h3', {}, 'metadata_policy'), json(m.metadata_policy ?? {}))
  if (m.metadata_policy_crit) main.append(h('h3', {}, 'metadata_policy_crit'), json(m.metadata_policy_crit))
  main.append(h('h3', {}, 'constraints'), json(m.constraints ?? {}))
  if (m.metadata) main.append(h('h3', {}, 'metadata (set by this entity)'), json(m.metadata))

  main.append(h('h2', {}, 'What depends on it'))
  const deps = h('div', {})
  main.append(deps)
  showDependents(deps, await dependents(m).catch(() => undefined))

  main.append(h('h2', {}, 'Statements'))
  const statements = h('div', {})
  main.append(statements)
  await showStatements(statements, m, session, detail)

  main.append(h('h2', {}, 'Trust marks'))
  try {
    const items = detail ? detail.trust_marks ?? [] : (await api('GET', 'trust-marks', { query: { sub: m.entity_id } })).body.items ?? []
    main.append(items.length === 0 ? h('p', {}, 'None issued by this entity.') : table('', ['Type', 'Status', 'Issued', 'Expires'],
      items.map((t) => [h('span', { class: 'mono' }, t.trust_mark_type ?? ''), status(t.status ?? ''), when(t.iat ?? t.issued_at), when(t.exp)])))
  } catch (err) {
    main.append(h('p', { class: 'help' }, err instanceof ApiError && err.status === 404 ? 'This deployment issues no trust marks.' : err.message))
  }

  main.append(h('h2', {}, 'Audit trail'))
  // Oldest first, as the audit log pages: a full page says so and links to the events after it.
  const trail = (await api('GET', 'audit', { query: { subject: m.entity_id, limit: 100 } })).body
  const events = trail.events ?? []
  main.append(events.length === 0 ? h('p', {}, 'No events.') : table(trail.next !== undefined ? 'The first 100 events, oldest first' : '', ['Time', 'Actor', 'Action', 'Outcome'], events.map((e) => [when(e.time), e.actor, h('span', { class: 'mono' }, e.action), status(e.outcome)])))
  if (trail.next !== undefined) main.append(h('p', {}, h('a', { href: route('audit', { subject: m.entity_id, after: String(trail.next) }) }, 'The events after these, in the audit log')))
  main.append(h('p', {}, h('a', { href: route('audit', { subject: m.entity_id }) }, 'The whole trail in the audit log')))
}

/** What depends on the member (GET /admin/subordinates/{id}/dependents), or undefined where the API cannot say. */
async function dependents(m) {
  try {
    return (await api('GET', `subordinates/${encodeURIComponent(m.entity_id)}/dependents`)).body
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined
    throw err
  }
}

/** What stops (or works again), with the counts of the API, for the confirmation. */
async function consequences(m, label) {
  let d
  try {
    d = await dependents(m)
  } catch (err) {
    return [`What depends on it could not be counted: ${err.message}`]
  }
  if (!d) return []
  const t = d.totals ?? {}
  const below = d.intermediate ? d.below?.entities ?? 0 : 0
  const chains = `${1 + below} trust chain${below ? 's' : ''} (its own${below ? ` and ${below} of entities known below it` : ''})`
  const more = d.truncated ? ' (at least: the count stopped at its bound)' : ''
  if (label === 'Reinstate') return [`${chains} resolve through this entity again; ${t.clients ?? 0} client${t.clients === 1 ? '' : 's'} registered through it may obtain tokens again${more}.`]
  return [`Stops: ${chains}; ${t.active_clients ?? 0} active client${t.active_clients === 1 ? '' : 's'} registered through it, holding ${t.active_tokens ?? 0} active token${t.active_tokens === 1 ? '' : 's'}${more}.`]
}

/** The dependents section of the member page. */
function showDependents(el, d) {
  if (!d) {
    el.append(h('p', { class: 'help' }, 'This deployment\'s admin API does not count dependents.'))
    return
  }
  const t = d.totals ?? {}
  el.append(h('p', { 'data-testid': 'dependents' }, `${t.clients ?? 0} client${t.clients === 1 ? '' : 's'} registered through it (${t.active_clients ?? 0} active, ${t.active_tokens ?? 0} active token${t.active_tokens === 1 ? '' : 's'})${d.intermediate ? `; ${d.below?.entities ?? 0} entities known below it` : ''}${d.truncated ? ' (counts stopped at their bound)' : ''}.`))
  const items = [...(d.clients?.items ?? []), ...(d.software_clients?.items ?? []), ...(d.below?.items ?? [])]
  if (items.length) {
    el.append(table('Clients', ['Client id', 'Status', 'Registration', 'Active tokens'], items.map((c) => [
      h('a', { href: route('clients', { id: c.client_id }), class: 'mono' }, c.client_id), status(c.status), c.registration_type ?? '', String(c.active_tokens ?? 0),
    ])))
  }
  if (Array.isArray(d.below?.entity_ids) && d.below.entity_ids.length) {
    el.append(h('h3', {}, 'Known below it'), h('ul', { class: 'tree' }, d.below.entity_ids.map((id) => h('li', { class: 'mono' }, id))))
  }
}

async function keyDecision(path, decision, m) {
  const text = decision === 'approve'
    ? ['The pending keys replace the keys this entity vouches for, and its subordinate statement is signed again with them.']
    : ['The pending keys are dropped, and the same set is not proposed again.']
  if (!(await confirmAction(`${decision === 'approve' ? 'Approve' : 'Reject'} the new keys of ${m.entity_id}?`, text, decision === 'approve' ? 'Approve' : 'Reject'))) return
  await api('POST', `${path}/${decision}`)
  location.hash = route(`members/${encodeURIComponent(m.entity_id)}`, { t: String(Date.now()) })
}

/**
 * This entity's subordinate statement about the member (as /fetch serves it, from the detail
 * answer) and the member's own entity configuration (from a resolution under this entity,
 * when it is a trust anchor).
 */
async function showStatements(el, m, session, detail) {
  if (detail) {
    if (detail.statement) el.append(h('h3', {}, 'Subordinate statement (this entity\'s, as /fetch serves it)'), json(detail.statement.payload), h('details', {}, h('summary', {}, 'Header and JWT'), json(detail.statement.header), h('pre', { class: 'mono', tabindex: '0' }, detail.statement.jwt)))
    else el.append(h('p', {}, `No subordinate statement is served: ${detail.statement_error ?? 'the member is suspended'}.`))
  }
  if (m.status !== 'active') {
    if (!detail) el.append(h('p', {}, 'A suspended member has no published statement.'))
    return
  }
  try {
    const res = await api('POST', 'resolve', { query: { sub: m.entity_id, trust_anchor: session.entity_id }, raw: true })
    const chain = (decodeJwt(res.body).payload.trust_chain ?? []).map((s) => decodeJwt(s))
    const [ec, ss] = chain
    if (ec) el.append(h('h3', {}, 'Entity configuration (the member\'s)'), json(ec.payload))
    if (ss && !detail) el.append(h('h3', {}, 'Subordinate statement (this entity\'s)'), json(ss.payload))
  } catch (err) {
    el.append(h('p', { class: 'help' }, `Its entity configuration, through a resolution under this entity: ${err.message}`))
  }
}
