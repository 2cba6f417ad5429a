// Onboarding a member: the same body POST /admin/subordinates takes, validated by the API's
// own JSON Schema (schemas/subordinate.schema.json): a 400 names the field, shown beside it.
import { h, clear, facts, json, route } from './dom.js'
import { api, ApiError, can } from './api.js'

/** Fields of the form: name, label, kind ('url', 'list', 'json'), help. */
const FIELDS = [
  ['entity_id', 'Entity id', 'url', 'The member\'s entity identifier. Without keys below, its entity configuration is fetched and its keys taken from it.'],
  ['entity_types', 'Entity types (optional)', 'list', 'Comma-separated, e.g. openid_relying_party; by default those of its entity configuration.'],
  ['jwks', 'Federation keys, JWKS (optional)', 'json', 'Leave empty to take them from its entity configuration.'],
  ['metadata_policy', 'Metadata policy (optional)', 'json', 'JSON: per entity type, per parameter, the operators (value, add, default, one_of, subset_of, superset_of, essential).'],
  ['constraints', 'Constraints (optional)', 'json', 'JSON: max_path_length, naming_constraints, allowed_entity_types.'],
  ['metadata', 'Metadata set by this entity (optional)', 'json', 'JSON: per entity type, parameters this entity asserts.'],
]

export async function render(main) {
  main.append(h('h1', {}, 'Onboard a member'))
  if (!can('POST /subordinates')) {
    main.append(h('p', { class: 'notice' }, 'Your role cannot onboard members (the operator role can).'))
    return
  }
  const general = h('div', { 'aria-live': 'polite' })
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Onboarding' })
  for (const [name, label, kind, help] of FIELDS) {
    const input = kind === 'json'
      ? h('textarea', { id: `f-${name}`, name, 'aria-describedby': `f-${name}-help f-${name}-error`, spellcheck: 'false' })
      : h('input', { id: `f-${name}`, name, type: kind === 'url' ? 'url' : 'text', required: name === 'entity_id', 'aria-describedby': `f-${name}-help f-${name}-error`, spellcheck: 'false' })
    form.append(h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), input, h('p', { class: 'help', id: `f-${name}-help` }, help), h('p', { class: 'field-error', id: `f-${name}-error` })))
  }
  const preview = h('section', { 'aria-live': 'polite', 'aria-label': 'Entity configuration' })
  form.append(h('div', { class: 'actions' },
    can('POST /subordinates/preview') ? h('button', { type: 'button', class: 'secondary', onclick: () => void showPreview(form, preview, general) }, 'Fetch its entity configuration') : null,
    h('button', { type: 'submit' }, 'Onboard')))
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    await submit(form, general)
  })
  main.append(general, form, preview)
}

function body(form, general) {
  const out = {}
  let ok = true
  for (const [name, , kind] of FIELDS) {
    const raw = form.querySelector(`#f-${name}`).value.trim()
    setError(form, name, '')
    if (!raw) continue
    if (kind === 'json') {
      try {
        out[name] = JSON.parse(raw)
      } catch {
        setError(form, name, 'not valid JSON')
        ok = false
      }
    } else if (kind === 'list') out[name] = raw.split(',').map((s) => s.trim()).filter(Boolean)
    else out[name] = raw
  }
  clear(general)
  return ok ? out : undefined
}

async function submit(form, general) {
  const b = body(form, general)
  if (!b) return
  try {
    const res = await api('POST', 'subordinates', { body: b })
    location.hash = route(`members/${encodeURIComponent(res.body.entity_id)}`)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    showError(form, general, err)
  }
}

/** A 400 `name.path: message` goes beside the field it names; anything else above the form. */
function showError(form, general, err) {
  const m = /^([a-z_]+)(?:[.[][^:]*)?:\s/.exec(err.message)
  const field = m && FIELDS.some(([n]) => n === m[1]) ? m[1] : undefined
  if (field) {
    setError(form, field, err.message)
    form.querySelector(`#f-${field}`).focus()
  } else {
    general.append(h('p', { class: 'failure-box', role: 'alert' }, `${err.code ?? err.status}: ${err.message}`))
  }
}

function setError(form, name, text) {
  const input = form.querySelector(`#f-${name}`)
  form.querySelector(`#f-${name}-error`).textContent = text
  if (text) input.setAttribute('aria-invalid', 'true')
  else input.removeAttribute('aria-invalid')
}

/**
 * The member's entity configuration as the API fetches and checks it, before anything is
 * written (POST /admin/subordinates/preview): what onboarding would take from it, or the
 * exact refusals onboarding would give.
 */
async function showPreview(form, preview, general) {
  clear(preview)
  const b = body(form, general)
  if (!b) return
  if (!b.entity_id) {
    setError(form, 'entity_id', 'entity_id: is required')
    return
  }
  preview.append(h('p', { class: 'loading' }, `Fetching ${b.entity_id}/.well-known/openid-federation…`))
  let p
  try {
    p = (await api('POST', 'subordinates/preview', { body: { entity_id: b.entity_id } })).body
  } catch (err) {
    clear(preview)
    if (!(err instanceof ApiError)) throw err
    showError(form, general, err)
    return
  }
  clear(preview)
  const box = h('div', { class: 'card', 'data-testid': 'preview' }, h('h2', {}, 'Its entity configuration'))
  if (p.acceptable) box.append(h('p', { class: 'notice' }, 'Acceptable: onboarding would take the following from it.'))
  else box.append(h('div', { class: 'failure-box', role: 'alert' }, h('p', {}, 'Onboarding would refuse it:'), h('ul', {}, (p.problems ?? []).map((x) => h('li', {}, x)))))
  if (p.would_onboard) {
    const w = p.would_onboard
    box.append(facts([
      ['Entity types', (w.entity_types ?? []).join(', ')], ['Intermediate', w.intermediate ? 'yes' : 'no'],
      ['Trust mark types', (w.trust_mark_types ?? []).join(', ') || 'none'], ['Key ids', (w.kids ?? []).join(', ')],
      ['Authority hints', (p.authority_hints ?? []).join(', ')],
    ]))
  }
  if (p.entity_configuration) box.append(h('h3', {}, 'Decoded'), json(p.entity_configuration.payload), h('details', {}, h('summary', {}, 'Header'), json(p.entity_configuration.header)))
  preview.append(box)
}
