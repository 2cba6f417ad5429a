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

${CONNECTION_HELP}
  --json          print raw JSON`

export async function clientsCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS, status: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' },
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
    default:
      throw new UsageError(`clients: unknown action "${action}" (see anchorage clients --help)`)
  }
}

type ClientList = { items: Array<Record<string, unknown>>; next?: string }

function renderList(b: ClientList): string {
  const lines = b.items.map((c) =>
    `${String(c.status).padEnd(12)} ${String(c.registration_type).padEnd(9)} ${String(c.client_id)}  anchor=${String(c.trust_anchor)}${c.authority_hint ? ` via ${scalar(c.authority_hint)}` : ''}${c.reason ? `  (${scalar(c.reason)})` : ''}`)
  if (b.next) lines.push(`(more: --after ${b.next})`)
  return lines.join('\n') || '(no clients)'
}
