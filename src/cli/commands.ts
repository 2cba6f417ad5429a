/** `anchorage subordinate|audit|keys`: admin API calls from the command line. */
import { parse, UsageError, entityTypes, type IO } from './args.js'
import { adminClient, report, enc, readJsonFile, scalar, writeStdout, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'
import { keysEncrypt, KEYS_ENCRYPT_HELP } from './keys_encrypt.js'
import { subordinateKeysAction, SUBORDINATE_KEYS_HELP, SUBORDINATE_KEY_ACTIONS } from './subordinate_keys.js'

export const SUBORDINATE_HELP = `Usage: anchorage subordinate <add|preview|list|show|dependents|update|suspend|reinstate|remove|refresh|pending|approve|reject> [options]

  add ENTITY_ID [--jwks FILE] [--entity-type T ...] [--intermediate] [--metadata FILE]
                [--metadata-policy FILE] [--constraints FILE] [--source-endpoint URL] [--body FILE]
        Onboard a member. Without --jwks the server fetches the member's entity
        configuration, checks its signature and authority_hints, and takes its keys.
        --body FILE sends a whole request body (JSON) instead.
  list [--status active|suspended|pending] [--q PREFIX] [--entity-type T] [--intermediate]
       [--after ENTITY_ID] [--limit N]
        One page in entity id order (more: --after the last one). --q: entity ids starting
        with PREFIX (without a scheme: after https:// or http://); pending: a key change
        waits for approval.
  preview ENTITY_ID
        Fetch and verify the entity's configuration and list what onboarding would refuse,
        writing nothing.
  show ENTITY_ID [--detail]
        --detail: also the statement as issued (JWT and decoded), trust marks, dependents
  dependents ENTITY_ID
        What depends on the member here: its clients, the clients of software statements
        it issued, the entities and clients known below it; active tokens of each
  update ENTITY_ID --body FILE     (JSON; a property set to null is removed)
  suspend ENTITY_ID | reinstate ENTITY_ID | remove ENTITY_ID
${SUBORDINATE_KEYS_HELP}

${CONNECTION_HELP}
  --json          print raw JSON`

export async function subordinateCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS,
    jwks: { type: 'string' }, 'entity-type': { type: 'string', multiple: true }, intermediate: { type: 'boolean' },
    metadata: { type: 'string' }, 'metadata-policy': { type: 'string' }, constraints: { type: 'string' },
    'source-endpoint': { type: 'string' }, body: { type: 'string' }, status: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' },
    q: { type: 'string' }, detail: { type: 'boolean' },
    all: { type: 'boolean' },
  }, true)
  if (values.help || !action || action === '--help' || action === '-h') {
    io.stdout(SUBORDINATE_HELP)
    return action ? 0 : 2
  }
  const id = positionals[0]
  const needId = () => {
    if (!id) throw new UsageError(`subordinate ${action}: ENTITY_ID is required`)
    return enc(id)
  }
  const types = entityTypes(values['entity-type'])
  const client = await adminClient(values, io)
  if (SUBORDINATE_KEY_ACTIONS.has(action)) return subordinateKeysAction(action, id, values, client, io)
  switch (action) {
    case 'add': {
      let body: Record<string, unknown>
      if (values.body) body = (await readJsonFile(io, values.body, '--body')) as Record<string, unknown>
      else {
        needId()
        body = { entity_id: id }
        if (values.jwks) body.jwks = await readJsonFile(io, values.jwks, '--jwks')
        if (types) body.entity_types = types
        if (values.intermediate) body.intermediate = true
        if (values.metadata) body.metadata = await readJsonFile(io, values.metadata, '--metadata')
        if (values['metadata-policy']) body.metadata_policy = await readJsonFile(io, values['metadata-policy'], '--metadata-policy')
        if (values.constraints) body.constraints = await readJsonFile(io, values.constraints, '--constraints')
        if (values['source-endpoint']) body.source_endpoint = values['source-endpoint']
      }
      return report(io, await client.call('POST', '/admin/subordinates', body))
    }
    case 'list': {
      const q = new URLSearchParams()
      for (const k of ['status', 'q', 'after', 'limit'] as const) if (values[k]) q.set(k, values[k])
      if (types && types.length > 1) throw new UsageError('subordinate list: --entity-type: give one')
      if (types?.[0]) q.set('entity_type', types[0])
      if (values.intermediate) q.set('intermediate', 'true')
      const res = await client.call('GET', `/admin/subordinates?${q.toString()}`)
      return report(io, res, values.json ? undefined : (b) => renderMembers(b as { items: Array<Record<string, unknown>>; next?: string }))
    }
    case 'show':
      return report(io, await client.call('GET', `/admin/subordinates/${needId()}${values.detail ? '/detail' : ''}`))
    case 'preview':
      needId()
      return report(io, await client.call('POST', '/admin/subordinates/preview', { entity_id: id }))
    case 'dependents':
      return report(io, await client.call('GET', `/admin/subordinates/${needId()}/dependents`), values.json ? undefined : (b) => renderDependents(b as Dependents))
    case 'update':
      if (!values.body) throw new UsageError('subordinate update: --body FILE is required')
      return report(io, await client.call('PATCH', `/admin/subordinates/${needId()}`, await readJsonFile(io, values.body, '--body')))
    case 'suspend':
    case 'reinstate':
      return report(io, await client.call('POST', `/admin/subordinates/${needId()}/${action}`))
    case 'remove': {
      const res = await client.call('DELETE', `/admin/subordinates/${needId()}`)
      if (res.status === 204) io.stdout(`removed ${id}`)
      return report(io, res)
    }
    default:
      throw new UsageError(`subordinate: unknown action "${action}" (see anchorage subordinate --help)`)
  }
}

interface DependentGroup { clients: number; active_clients: number; active_tokens: number; items: Array<{ client_id: string; status: string; active_tokens: number }> }
interface Dependents {
  entity_id: string; status: string; intermediate: boolean
  clients: DependentGroup; software_clients: DependentGroup; below: DependentGroup & { entities: number; entity_ids: string[] }
  totals: { clients: number; active_clients: number; active_tokens: number }; truncated?: true
}

/** What a suspension or removal stops, in a few lines. */
function renderDependents(d: Dependents): string {
  const group = (name: string, g: DependentGroup) =>
    [`${name}: ${g.clients} (${g.active_clients} active, ${g.active_tokens} active tokens)`, ...g.items.map((i) => `  ${i.status.padEnd(11)} ${i.client_id}  ${i.active_tokens} tokens`)]
  return [
    `${d.entity_id} (${d.status}${d.intermediate ? ', intermediate' : ''}): ${d.totals.active_clients} active clients, ${d.totals.active_tokens} active tokens depend on it${d.truncated ? ' (at least: more registrations than counted)' : ''}`,
    ...group('its clients', d.clients),
    ...group('clients of its software statements', d.software_clients),
    `entities known below it: ${d.below.entities}${d.below.entity_ids.length ? ` (${d.below.entity_ids.join(', ')})` : ''}`,
    ...group('clients below it', d.below),
  ].join('\n')
}

function renderMembers(b: { items: Array<Record<string, unknown>>; next?: string }): string {
  const lines = b.items.map((m) => `${String(m.status).padEnd(10)} ${String(m.entity_id)}  [${(m.entity_types as string[]).join(', ')}]${m.intermediate ? ' intermediate' : ''}`)
  if (b.next) lines.push(`(more: --after ${b.next})`)
  return lines.join('\n') || '(no subordinates)'
}

export const AUDIT_HELP = `Usage: anchorage audit [--after SEQ] [--limit N] [--action ACTION] [--subject ID] [--actor NAME]
                       [--since TIME] [--until TIME] [--export ndjson|csv] [--json]

Prints the audit log (oldest first): seq, time, actor, action, subject, outcome, detail.

  --actor NAME    events of this operator (or anchorage, anonymous, cli)
  --since TIME    events at or after TIME, --until TIME: before TIME (RFC 3339, e.g.
                  2026-12-01T10:00:00Z, or a date: 2026-12-01 is its midnight UTC)
  --export FORMAT every matching event, streamed to standard output as NDJSON or CSV
                  (cells a spreadsheet would read as formulas start with an apostrophe);
                  --limit does not apply

${CONNECTION_HELP}`

export async function auditCommand(argv: string[], io: IO): Promise<number> {
  const { values } = parse(argv, {
    ...CONNECTION_OPTIONS, after: { type: 'string' }, limit: { type: 'string' }, action: { type: 'string' }, subject: { type: 'string' },
    actor: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, export: { type: 'string' },
  })
  if (values.help) {
    io.stdout(AUDIT_HELP)
    return 0
  }
  if (values.export !== undefined && values.export !== 'ndjson' && values.export !== 'csv') throw new UsageError('--export: ndjson or csv')
  const q = new URLSearchParams()
  for (const k of ['after', 'action', 'subject', 'actor', 'since', 'until'] as const) if (values[k]) q.set(k, values[k])
  const client = await adminClient(values, io)
  if (values.export) {
    q.set('format', values.export)
    const res = await client.stream(`/admin/audit/export?${q.toString()}`, writeStdout)
    return res.status === 200 ? 0 : report(io, res)
  }
  if (values.limit) q.set('limit', values.limit)
  return report(io, await client.call('GET', `/admin/audit?${q.toString()}`), values.json ? undefined : (b) =>
    (b as { events: Array<Record<string, unknown>> }).events
      .map((e) => `${String(e.seq).padStart(6)} ${scalar(e.time)} ${scalar(e.actor)} ${scalar(e.action)} ${scalar(e.subject ?? '-')} ${scalar(e.outcome)}${e.detail ? ' ' + JSON.stringify(e.detail) : ''}`)
      .join('\n') || '(no events)')
}

export const KEYS_HELP = `Usage: anchorage keys <list|stage|activate|rotate|retire|encrypt> [options]

  list                       the federation keys: state, staged at, activatable at
  stage [--alg ALG]          publish the next key in jwks without signing with it
  activate KID [--force]     sign with the staged key KID; refused before the propagation
                             delay (keys.propagation_delay_seconds) since staging, unless --force
  rotate [--alg ALG] [--compromised]
                             emergency: stage + activate at once (pinned parties fail until they
                             refresh); --compromised also retires the old keys as revoked
  retire KID [--reason R]    remove from jwks; published at the historical keys endpoint
                             (R: unspecified | compromised | superseded marks it revoked)
  --purpose oauth            the same for the authorization server's token keys (published at
                             /oauth/jwks, one signing key per algorithm: stage and rotate without
                             --alg act on every algorithm; retired keys leave /oauth/jwks)
${KEYS_ENCRYPT_HELP}

${CONNECTION_HELP}
  --store SPEC    encrypt: 'embedded' or a mongodb:// URI (default: $ANCHORAGE_STORE, else the configuration)`

export async function keysCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS, alg: { type: 'string' }, reason: { type: 'string' }, store: { type: 'string' },
    force: { type: 'boolean' }, compromised: { type: 'boolean' }, purpose: { type: 'string' },
  }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(KEYS_HELP)
    return action ? 0 : 2
  }
  // Works on the deployment's store, not through the admin API.
  if (action === 'encrypt') return keysEncrypt(values, io)
  if (values.purpose !== undefined && values.purpose !== 'federation' && values.purpose !== 'oauth') throw new UsageError('--purpose: federation or oauth')
  const client = await adminClient(values, io)
  const kid = () => {
    if (!positionals[0]) throw new UsageError(`keys ${action}: KID is required`)
    return enc(positionals[0])
  }
  const purpose = values.purpose ? `?purpose=${values.purpose}` : ''
  switch (action) {
    case 'list':
      return report(io, await client.call('GET', `/admin/keys${purpose}`), values.json ? undefined : (b) => renderKeys((b as { keys: Array<Record<string, unknown>> }).keys))
    case 'stage':
      return report(io, await client.call('POST', `/admin/keys/stage${purpose}`, values.alg ? { alg: values.alg } : {}))
    case 'activate':
      return report(io, await client.call('POST', `/admin/keys/${kid()}/activate${purpose}`, values.force ? { force: true } : {}))
    case 'rotate':
      return report(io, await client.call('POST', `/admin/keys/rotate${purpose}`, { ...(values.alg ? { alg: values.alg } : {}), ...(values.compromised ? { compromised: true } : {}) }))
    case 'retire':
      return report(io, await client.call('POST', `/admin/keys/${kid()}/retire${purpose}`, values.reason ? { reason: values.reason } : {}))
    default:
      throw new UsageError(`keys: unknown action "${action}"`)
  }
}

/** One line per key: state, alg, kid, then the rollover times that apply. */
function renderKeys(keys: Array<Record<string, unknown>>): string {
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))
  const at = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000).toISOString() : undefined)
  return keys.map((k) => {
    const times = [['staged', k.staged_at], ['activatable', k.activatable_at], ['activated', k.activated_at], ['superseded', k.superseded_at], ['retired', k.retired_at]]
      .flatMap(([name, v]) => (at(v) ? [`${String(name)} ${at(v)}`] : []))
    const revoked = k.revoked ? ` revoked (${text((k.revoked as { reason?: unknown }).reason)})` : ''
    return `${text(k.state).padEnd(10)} ${text(k.alg)} ${text(k.kid)}${times.length ? '  ' + times.join(', ') : ''}${revoked}`
  }).join('\n')
}
