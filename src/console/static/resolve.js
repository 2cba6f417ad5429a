// Resolve: an entity id and a trust anchor -> the trust chain as a path, the resolved
// metadata, the trust marks, or the exact failure. Through POST /admin/resolve (a read: the
// auditor's), which answers what GET /resolve answers.
import { h, json, route, status, table, when } from './dom.js'
import { api, ApiError, can, decodeJwt } from './api.js'

export async function render(main, params, { session }) {
  const sub = params.sub ?? ''
  const anchor = params.trust_anchor ?? session.entity_id ?? ''
  main.append(h('h1', {}, 'Resolve'))
  const form = h('form', { class: 'card', 'aria-label': 'Resolve an entity',
    onsubmit: (e) => {
      e.preventDefault()
      location.hash = route('resolve', { sub: form.querySelector('#sub').value.trim(), trust_anchor: form.querySelector('#trust_anchor').value.trim(), entity_type: form.querySelector('#entity_type').value.trim(), n: String(Date.now()) })
    } },
  h('label', { for: 'sub' }, 'Entity id'),
  h('input', { id: 'sub', type: 'url', required: true, value: sub, spellcheck: 'false', placeholder: 'https://member.example.org' }),
  h('label', { for: 'trust_anchor' }, 'Trust anchor'),
  h('input', { id: 'trust_anchor', type: 'url', required: true, value: anchor, spellcheck: 'false' }),
  h('label', { for: 'entity_type' }, 'Entity type (optional)'),
  h('input', { id: 'entity_type', type: 'text', value: params.entity_type ?? '', spellcheck: 'false', placeholder: 'openid_relying_party' }),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Resolve')))
  main.append(form)
  if (!sub) return

  const out = h('section', { 'aria-live': 'polite', 'aria-label': 'Result' })
  main.append(out)
  const query = { sub, trust_anchor: anchor, entity_type: params.entity_type }
  if (can('POST /resolve/explain')) {
    // How the answer came about (POST /admin/resolve/explain): the path, the policy step by
    // step, the trust marks kept and dropped with their reasons, or every path's failure.
    const x = (await api('POST', 'resolve/explain', { query })).body
    if (x.ok) showExplained(out, x)
    else showExplainedFailure(out, x)
    return
  }
  try {
    const res = await api('POST', 'resolve', { query: { sub, trust_anchor: anchor, entity_type: params.entity_type }, raw: true })
    showResolved(out, decodeJwt(res.body).payload)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    out.append(h('h2', {}, 'Resolution failed'),
      h('div', { class: 'failure-box', role: 'alert', 'data-testid': 'resolve-failure' },
        h('p', {}, h('strong', {}, err.code ?? `HTTP ${err.status}`)),
        h('p', {}, err.message)))
  }
}

function showResolved(out, p) {
  out.append(h('h2', {}, 'Resolved'), h('p', { class: 'notice', 'data-testid': 'resolve-ok' }, `${p.sub} resolves under ${p.iss === p.sub ? 'itself' : p.iss}, valid until ${when(p.exp)}.`))
  const chain = Array.isArray(p.trust_chain) ? p.trust_chain.map((s) => decodeJwt(s).payload) : []
  out.append(h('h3', {}, 'Trust chain'))
  out.append(h('ol', { class: 'chain', 'aria-label': 'Trust chain, subject first' }, chain.map((s, i) => h('li', {},
    h('span', { class: 'role' }, i === 0 ? 'entity configuration' : s.iss === s.sub ? 'trust anchor configuration' : `subordinate statement by`),
    h('span', { class: 'mono' }, i === 0 || s.iss === s.sub ? s.sub : s.iss)))))
  out.append(h('details', {}, h('summary', {}, 'Statements, decoded'), chain.map((s) => json(s))))
  // The policy as the chain carries it, from the anchor down (spec "Applying Metadata Policies"):
  // each superior's metadata_policy (and metadata it sets), then the subject's own metadata,
  // then what the resolver made of them.
  out.append(h('h3', {}, 'Metadata policy, step by step'))
  const steps = h('ol', { class: 'steps' })
  for (let i = chain.length - 1; i >= 1; i--) {
    const s = chain[i]
    if (s.iss === s.sub) continue // the anchor's own configuration carries no policy for others
    steps.append(h('li', {},
      h('p', {}, 'Statement by ', h('span', { class: 'mono' }, s.iss), ' about ', h('span', { class: 'mono' }, s.sub), ': ',
        s.metadata_policy ? 'metadata_policy' : 'no metadata_policy', s.metadata ? ', and metadata it sets' : ''),
      s.metadata_policy ? json(s.metadata_policy) : null,
      s.metadata ? json(s.metadata) : null,
      s.constraints ? h('details', {}, h('summary', {}, 'constraints'), json(s.constraints)) : null))
  }
  steps.append(h('li', {}, h('p', {}, 'The subject\'s own metadata'), json(chain[0]?.metadata ?? {})))
  steps.append(h('li', {}, h('p', {}, h('strong', {}, 'Resolved metadata'), ' (the policies merged and applied by the resolver)'), json(p.metadata ?? {})))
  out.append(steps)
  out.append(h('h3', {}, 'Trust marks'))
  // Kept: those in the answer (verified by the resolver). Dropped: those the subject's entity
  // configuration carries that the answer does not.
  const kept = Array.isArray(p.trust_marks) ? p.trust_marks : []
  const keptTypes = new Set(kept.map((m) => m.trust_mark_type))
  const carried = Array.isArray(chain[0]?.trust_marks) ? chain[0].trust_marks : []
  const dropped = carried.filter((m) => !keptTypes.has(m?.trust_mark_type))
  if (kept.length === 0 && dropped.length === 0) out.append(h('p', {}, 'None carried.'))
  else {
    out.append(table('', ['Trust mark type', 'Outcome', 'Why'], [
      ...kept.map((m) => [h('span', { class: 'mono' }, m.trust_mark_type ?? ''), status('kept'), 'verified: signed by an issuer the anchor recognises, current']),
      ...dropped.map((m) => [h('span', { class: 'mono' }, m.trust_mark_type ?? ''), status('dropped'), m.reason ?? 'not verified by this resolver (issuer not recognised by the anchor, signature, expiry or status)']),
    ]))
  }
}

const shown = (state) => (state && state.present ? JSON.stringify(state.value) : 'absent')
const param = (r) => `${r.entityType ?? '*'}.${r.parameter}`

function showExplained(out, x) {
  out.append(h('h2', {}, 'Resolved'), h('p', { class: 'notice', 'data-testid': 'resolve-ok' }, `${x.subject} resolves under ${x.trust_anchor}, valid until ${when(x.exp)}.`))
  const path = Array.isArray(x.path) ? x.path : []
  out.append(h('h3', {}, 'Trust chain'))
  out.append(h('ol', { class: 'chain', 'aria-label': 'Trust chain, subject first' }, path.map((s, i) => h('li', {},
    h('span', { class: 'role' }, s.kind === 'subordinate_statement' ? 'subordinate statement by' : i === 0 ? 'entity configuration' : 'trust anchor configuration'),
    h('span', { class: 'mono' }, s.kind === 'subordinate_statement' ? s.iss : s.sub),
    h('span', { class: 'role' }, `kid ${s.kid ?? '?'}, until ${when(s.exp)}`)))))
  out.append(h('details', {}, h('summary', {}, 'Statements, decoded'), (x.trust_chain ?? []).map((jwt) => json(decodeJwt(jwt).payload))))

  out.append(h('h3', {}, 'Metadata policy, step by step'))
  const p = x.policy
  if (!p) out.append(h('p', {}, 'No statement of the chain carries a metadata policy.'))
  else {
    out.append(h('ol', { class: 'steps', 'aria-label': 'Statements, from the anchor down' }, (p.statements ?? []).map((st) => h('li', {}, h('span', { class: 'mono' }, st.statement), st.hasPolicy ? ': metadata_policy' : ': no metadata_policy'))))
    if ((p.resolution ?? []).length) {
      out.append(table('Policies merged, per parameter', ['Parameter', 'Operator', 'Contributions', 'Merged'], p.resolution.flatMap((r) => r.operators.map((o) => [
        h('span', { class: 'mono' }, param(r)), h('span', { class: 'mono' }, o.operator),
        h('ul', {}, o.contributions.map((c) => h('li', {}, h('span', { class: 'mono' }, c.statement), `: ${JSON.stringify(c.value)}`))),
        h('span', { class: 'mono' }, JSON.stringify(o.result)),
      ]))))
    }
    if ((p.overrides ?? []).length) out.append(table('Metadata set by superiors (overrides)', ['Parameter', 'Value'], p.overrides.map((o) => [h('span', { class: 'mono' }, param(o)), h('span', { class: 'mono' }, JSON.stringify(o.value))])))
    if ((p.removed_entity_types ?? []).length) out.append(h('p', {}, `Entity types removed by policy: ${p.removed_entity_types.join(', ')}`))
    if ((p.application ?? []).length) {
      out.append(table('Policy applied to the subject\'s metadata', ['Parameter', 'Before', 'Steps', 'After'], p.application.map((a) => [
        h('span', { class: 'mono' }, param(a)), h('span', { class: 'mono' }, shown(a.before)),
        h('ol', {}, a.steps.map((st) => h('li', {}, h('span', { class: 'mono' }, `${st.operator} ${JSON.stringify(st.operand)}`), `: ${shown(st.before)} → ${shown(st.after)}`, st.error ? h('span', { class: 'error' }, ` (${st.error})`) : null))),
        h('span', { class: 'mono' }, a.after ? shown(a.after) : 'not reached'),
      ])))
    }
    if (p.failure) out.append(h('p', { class: 'failure-box', role: 'alert' }, `${p.failure.error}: ${p.failure.message}`))
    if (x.policy_text) out.append(h('details', {}, h('summary', {}, 'The same, as text'), h('pre', { tabindex: '0' }, x.policy_text)))
  }
  out.append(h('h3', {}, 'Resolved metadata'), json(x.metadata ?? {}))

  out.append(h('h3', {}, 'Trust marks'))
  const kept = x.trust_marks?.kept ?? []
  const dropped = x.trust_marks?.dropped ?? []
  out.append(kept.length + dropped.length === 0 ? h('p', {}, 'None carried.') : table('Trust marks kept and dropped', ['Trust mark type', 'Outcome', 'Why'], [
    ...kept.map((m) => [h('span', { class: 'mono' }, m.trust_mark_type), status('kept'), `verified${m.iss ? `, issued by ${m.iss}` : ''}${m.exp ? `, until ${when(m.exp)}` : ''}`]),
    ...dropped.map((m) => [h('span', { class: 'mono' }, m.trust_mark_type), status('dropped'), m.reason ?? '']),
  ]))
}

function showExplainedFailure(out, x) {
  out.append(h('h2', {}, 'Resolution failed'),
    h('div', { class: 'failure-box', role: 'alert', 'data-testid': 'resolve-failure' },
      h('p', {}, h('strong', {}, x.error ?? 'error')),
      h('p', {}, x.error_description ?? '')))
  const paths = Array.isArray(x.paths) ? x.paths : []
  if (paths.length) {
    out.append(table('Every path tried', ['Path (subject first)', 'Statement', 'Rule', 'Stage', 'Why'], paths.map((f) => [
      h('span', { class: 'mono' }, (f.path ?? []).join(' → ')), h('span', { class: 'mono' }, f.statement ?? ''), h('span', { class: 'mono' }, f.rule ?? ''), f.stage ?? '', f.message ?? '',
    ])))
  }
}
