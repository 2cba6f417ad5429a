// Keys: the federation's signing keys (and the authorization server's, purpose oauth), their
// state, staged keys and when they may be activated; stage, activate, rotate and retire for
// the admin role, each confirmed with what it changes (README "Key rollover").
import { h, route, status, table, when } from './dom.js'
import { api, ApiError, can } from './api.js'
import { confirmAction } from './confirm.js'

export async function render(main, params) {
  const purpose = params.purpose === 'oauth' ? 'oauth' : 'federation'
  main.append(h('h1', {}, purpose === 'oauth' ? 'Token signing keys' : 'Federation keys'))
  main.append(h('nav', { class: 'actions', 'aria-label': 'Key purposes' },
    h('a', { href: route('keys'), 'aria-current': purpose === 'federation' ? 'page' : undefined }, 'Federation keys'),
    h('a', { href: route('keys', { purpose: 'oauth' }), 'aria-current': purpose === 'oauth' ? 'page' : undefined }, 'Token signing keys (authorization server)')))
  let keys
  try {
    keys = (await api('GET', 'keys', { query: purpose === 'oauth' ? { purpose } : {} })).body.keys ?? []
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 400) throw err
    main.append(h('p', { class: 'notice' }, err.message))
    return
  }
  const q = purpose === 'oauth' ? { purpose } : {}
  const message = h('div', { 'aria-live': 'polite' })
  const run = async (title, lines, label, method, path, body) => {
    if (!(await confirmAction(title, lines, label))) return
    try {
      await api(method, path, { query: q, ...(body ? { body } : {}) })
      location.hash = route('keys', { ...q, t: String(Date.now()) })
    } catch (err) {
      message.append(h('p', { class: 'failure-box', role: 'alert' }, err.message))
    }
  }
  const now = Date.now() / 1000
  main.append(message)
  main.append(table('Keys', ['kid', 'alg', 'State', 'Created', 'Staged', 'Activatable', 'Activated', 'Retired', 'Actions'], keys.map((k) => [
    h('span', { class: 'mono' }, k.kid), k.alg, status(k.state), when(k.created_at), when(k.staged_at), when(k.activatable_at), when(k.activated_at),
    k.retired_at ? `${when(k.retired_at)}${k.revoked ? ` (revoked: ${k.revoked.reason})` : ''}` : '',
    h('div', { class: 'actions' },
      k.state === 'staged' && can('POST /keys/:kid/activate')
        ? h('button', { type: 'button', onclick: () => void run(`Activate ${k.kid}?`, [
          'It signs everything from now on; the current key stays published.',
          k.activatable_at > now ? `Its propagation delay ends ${when(k.activatable_at)}: activating earlier forces it, and parties that cached the old key set fail until they fetch it again.` : '',
        ], 'Activate', 'POST', `keys/${encodeURIComponent(k.kid)}/activate`, k.activatable_at > now ? { force: true } : undefined) }, 'Activate')
        : null,
      k.state !== 'retired' && k.state !== 'active' && can('POST /keys/:kid/retire')
        ? h('button', { type: 'button', class: 'danger', onclick: () => void run(`Retire ${k.kid}?`, ['It leaves the published key set; statements it signed stop verifying once cached key sets are fetched again.'], 'Retire', 'POST', `keys/${encodeURIComponent(k.kid)}/retire`) }, 'Retire')
        : null),
  ])))
  const actions = h('div', { class: 'actions' })
  if (can('POST /keys/stage') && !keys.some((k) => k.state === 'staged')) {
    actions.append(h('button', { type: 'button', onclick: () => void run('Stage a new key?', ['It is published at once and signs nothing until it is activated, after the propagation delay.'], 'Stage', 'POST', 'keys/stage') }, 'Stage a new key'))
  }
  if (can('POST /keys/rotate')) {
    actions.append(h('button', { type: 'button', class: 'danger', onclick: () => void run('Rotate now (emergency)?', ['A new key signs at once: parties that cached the old key set fail until they fetch it again. Prefer stage, then activate.'], 'Rotate', 'POST', 'keys/rotate') }, 'Rotate now'))
  }
  main.append(actions)
}
