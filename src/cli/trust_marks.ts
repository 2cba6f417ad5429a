/** `anchorage trust-mark-type|trust-mark`: the trust mark issuer's admin API from the command line. */
import { parse, UsageError, type IO } from './args.js'
import { adminClient, report, scalar, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'

export const TRUST_MARK_TYPE_HELP = `Usage: anchorage trust-mark-type <add|list|remove> [options]

  add TYPE [--lifetime SECONDS] [--logo-uri URL] [--ref URL] [--delegation JWT|@FILE]
        Configure (or reconfigure) a trust mark type this entity issues.
        --lifetime: exp - iat of issued marks (default 30 days; 0 = marks without exp).
        --delegation: the type owner's trust-mark-delegation+jwt naming this entity,
        embedded in every mark of the type.
  list
  remove TYPE

${CONNECTION_HELP}
  --json          print raw JSON`

export const TRUST_MARK_HELP = `Usage: anchorage trust-mark <issue|revoke|list> [options]

  issue TYPE SUB            issue (or re-issue) a trust mark of TYPE to the entity SUB;
                            prints the JWT
  revoke TYPE SUB           revoke every mark of TYPE issued to SUB (status endpoint,
                            trust mark endpoint and listings change at once)
  list [--type TYPE] [--sub SUB]
                            issued marks with their status (active, expired, revoked)

${CONNECTION_HELP}
  --json          print raw JSON`

export async function trustMarkTypeCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS, lifetime: { type: 'string' }, 'logo-uri': { type: 'string' }, ref: { type: 'string' }, delegation: { type: 'string' },
  }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(TRUST_MARK_TYPE_HELP)
    return action ? 0 : 2
  }
  const type = positionals[0]
  const client = await adminClient(values, io)
  switch (action) {
    case 'add': {
      if (!type) throw new UsageError('trust-mark-type add: TYPE is required')
      const body: Record<string, unknown> = { trust_mark_type: type }
      if (values.lifetime !== undefined) {
        const n = Number(values.lifetime)
        if (!Number.isInteger(n) || n < 0) throw new UsageError('--lifetime: must be a whole number of seconds (0 = no exp)')
        body.lifetime = n
      }
      if (values['logo-uri']) body.logo_uri = values['logo-uri']
      if (values.ref) body.ref = values.ref
      if (values.delegation) {
        body.delegation = values.delegation.startsWith('@') ? (await io.readFile(values.delegation.slice(1))).trim() : values.delegation
      }
      return report(io, await client.call('POST', '/admin/trust-mark-types', body))
    }
    case 'list':
      return report(io, await client.call('GET', '/admin/trust-mark-types'), values.json ? undefined : (b) =>
        (b as { items: Array<Record<string, unknown>> }).items
          .map((t) => `${String(t.trust_mark_type)}  lifetime=${t.lifetime === 0 ? 'none' : `${String(t.lifetime)}s`}${t.delegation ? ' delegated' : ''}`)
          .join('\n') || '(no trust mark types)')
    case 'remove': {
      if (!type) throw new UsageError('trust-mark-type remove: TYPE is required')
      const res = await client.call('DELETE', `/admin/trust-mark-types?${new URLSearchParams({ trust_mark_type: type }).toString()}`)
      if (res.status === 204) io.stdout(`removed ${type}`)
      return report(io, res)
    }
    default:
      throw new UsageError(`trust-mark-type: unknown action "${action}" (see anchorage trust-mark-type --help)`)
  }
}

export async function trustMarkCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, type: { type: 'string' }, sub: { type: 'string' } }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(TRUST_MARK_HELP)
    return action ? 0 : 2
  }
  const pair = () => {
    const [type, sub] = positionals
    if (!type || !sub) throw new UsageError(`trust-mark ${action}: TYPE and SUB are required`)
    return { trust_mark_type: type, sub }
  }
  const client = await adminClient(values, io)
  switch (action) {
    case 'issue':
      return report(io, await client.call('POST', '/admin/trust-marks', pair()), values.json ? undefined : (b) => String((b as { trust_mark: string }).trust_mark))
    case 'revoke':
      return report(io, await client.call('POST', '/admin/trust-marks/revoke', pair()), values.json ? undefined : (b) => {
        const r = b as { trust_mark_type: string; sub: string }
        return `revoked ${r.trust_mark_type} for ${r.sub}`
      })
    case 'list': {
      const q = new URLSearchParams()
      if (values.type) q.set('trust_mark_type', values.type)
      if (values.sub) q.set('sub', values.sub)
      return report(io, await client.call('GET', `/admin/trust-marks?${q.toString()}`), values.json ? undefined : (b) =>
        (b as { items: Array<Record<string, unknown>> }).items
          .map((m) => `${String(m.status).padEnd(8)} ${String(m.trust_mark_type)} ${String(m.sub)}${m.exp !== undefined ? ` exp=${scalar(m.exp)}` : ''}`)
          .join('\n') || '(no trust marks issued)')
    }
    default:
      throw new UsageError(`trust-mark: unknown action "${action}" (see anchorage trust-mark --help)`)
  }
}
