/** `anchorage clients`: the authorization server's client registrations, through the admin API. */
import { parse, UsageError, type IO } from './args.js'
import { adminClient, report, enc, scalar, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'

export const CLIENTS_HELP = `Usage: anchorage clients <list|show|revoke|reinstate> [options]

  list [--status active|invalidated|revoked] [--after CLIENT_ID] [--limit N]
        registered clients: status, registration type, trust anchor, superior
  show CLIENT_ID
        the whole registration: resolved metadata, keys, verified trust marks, chain expiry, re-evaluation
  revoke CLIENT_ID [--reason TEXT]
        the kill-switch: the client's tokens introspect inactive at once, its next token
        request is refused, and it cannot register again until reinstated
  reinstate CLIENT_ID
        lift a revocation (the client registers again on its next request)
  initial-token issue [--uses N] [--lifetime SECONDS] [--note TEXT]
        an initial access token for RFC 7591 registration (dynamic_registration.
        initial_access_token): good for N registrations (default 1) until it expires
        (default 7 days); printed once, only its hash is kept
  initial-token list | initial-token revoke ID

${CONNECTION_HELP}
  --json          print raw JSON`

export async function clientsCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS, status: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' },
    uses: { type: 'string' }, lifetime: { type: 'string' }, note: { type: 'string' },
  }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(CLIENTS_HELP)
    return action ? 0 : 2
  }
  const id = () => {
    if (!positionals[0]) throw new UsageError(`clients ${action}: CLIENT_ID is required`)
    return enc(positionals[0])
  }
  const client = await adminClient(values, io)
  switch (action) {
    case 'list': {
      const q = new URLSearchParams()
      for (const k of ['status', 'after', 'limit'] as const) if (values[k]) q.set(k, values[k])
      return report(io, await client.call('GET', `/admin/clients?${q.toString()}`), values.json ? undefined : (b) => renderList(b as ClientList))
    }
    case 'show':
      return report(io, await client.call('GET', `/admin/clients/${id()}`))
    case 'revoke':
      return report(io, await client.call('POST', `/admin/clients/${id()}/revoke`, values.reason ? { reason: values.reason } : {}), values.json ? undefined : (b) => {
        const r = b as Record<string, unknown>
        return `revoked ${String(r.client_id)}`
      })
    case 'reinstate': {
      const res = await client.call('POST', `/admin/clients/${id()}/reinstate`)
      if (res.status === 204) io.stdout(`reinstated ${positionals[0]}`)
      return report(io, res)
    }
    case 'initial-token':
      return initialToken(positionals, values, client, io)
    default:
      throw new UsageError(`clients: unknown action "${action}" (see anchorage clients --help)`)
  }
}

type Client = Awaited<ReturnType<typeof adminClient>>

/** `clients initial-token issue|list|revoke`: RFC 7591 initial access tokens. */
async function initialToken(positionals: string[], values: { uses?: string; lifetime?: string; note?: string; json?: boolean }, client: Client, io: IO): Promise<number> {
  const [sub, id] = positionals
  const whole = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name}: must be a whole number`)
    return n
  }
  switch (sub) {
    case 'issue': {
      const uses = whole(values.uses, 'uses')
      const lifetime = whole(values.lifetime, 'lifetime')
      const body = { ...(uses !== undefined ? { uses } : {}), ...(lifetime !== undefined ? { lifetime } : {}), ...(values.note ? { note: values.note } : {}) }
      return report(io, await client.call('POST', '/admin/initial-access-tokens', body), values.json ? undefined : (b) => String((b as { initial_access_token: string }).initial_access_token))
    }
    case 'list':
      return report(io, await client.call('GET', '/admin/initial-access-tokens'), values.json ? undefined : (b) => {
        const items = (b as { items: Array<Record<string, unknown>> }).items
        return items.map((t) => `${String(t.id)} uses_left=${scalar(t.uses_left)}/${scalar(t.uses)} exp=${scalar(t.exp)}${t.note ? `  ${scalar(t.note)}` : ''}`).join('\n') || '(no initial access tokens)'
      })
    case 'revoke': {
      if (!id) throw new UsageError('clients initial-token revoke: ID is required')
      const res = await client.call('POST', '/admin/initial-access-tokens/revoke', { id })
      if (res.status === 204) io.stdout(`revoked ${id}`)
      return report(io, res)
    }
    default:
      throw new UsageError('clients initial-token: issue, list or revoke')
  }
}

type ClientList = { items: Array<Record<string, unknown>>; next?: string }

function renderList(b: ClientList): string {
  const lines = b.items.map((c) =>
    `${String(c.status).padEnd(12)} ${String(c.registration_type).padEnd(9)} ${String(c.client_id)}  anchor=${String(c.trust_anchor)}${c.authority_hint ? ` via ${scalar(c.authority_hint)}` : ''}${c.software_id ? `  software=${scalar(c.software_id)}` : ''}${c.reason ? `  (${scalar(c.reason)})` : ''}`)
  if (b.next) lines.push(`(more: --after ${b.next})`)
  return lines.join('\n') || '(no clients)'
}
