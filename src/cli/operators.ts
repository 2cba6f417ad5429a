/** `anchorage operators`: the named operators of the admin API, through the admin API (admin role). */
import { parse, UsageError, type IO } from './args.js'
import { adminClient, report, enc, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'

export const OPERATORS_HELP = `Usage: anchorage operators <add|list|show|disable|enable|rotate> [options]

  add NAME --role auditor|operator|admin
        a new operator; its token is printed once (only its SHA-256 is stored)
          auditor   reads everything, the audit log included
          operator  also onboards, suspends and reinstates members, issues and revokes
                    trust marks and software statements, manages clients
          admin     also keys, settings and operators
  list
  show NAME
  disable NAME
        its token is refused from now on (every instance); the last active admin cannot be disabled
  enable NAME
        a disabled operator active again with a NEW token, printed once (the token it had
        when disabled is never accepted again)
  rotate NAME
        a new token, printed once; the old one is refused from now on

Every action needs an admin operator's token. The audit log names the operator who acted.

${CONNECTION_HELP}
  --json          print raw JSON`

export async function operatorsCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, role: { type: 'string' } }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(OPERATORS_HELP)
    return action ? 0 : 2
  }
  const name = () => {
    if (!positionals[0]) throw new UsageError(`operators ${action}: NAME is required`)
    return positionals[0]
  }
  const withToken = (verb: string) => (b: unknown) => {
    const o = b as { name: string; role: string; token: string }
    return `${verb} operator ${o.name} (role ${o.role}). Its token, shown this once (only its SHA-256 is stored):\n  ${o.token}`
  }
  switch (action) {
    case 'add': {
      const n = name()
      if (!values.role) throw new UsageError('operators add: --role auditor|operator|admin is required')
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', '/admin/operators', { name: n, role: values.role }), values.json ? undefined : withToken('added'))
    }
    case 'list': {
      const client = await adminClient(values, io)
      return report(io, await client.call('GET', '/admin/operators'), values.json ? undefined : (b) => renderList(b as { items: Array<Record<string, unknown>> }))
    }
    case 'show': {
      const n = name()
      return report(io, await (await adminClient(values, io)).call('GET', `/admin/operators/${enc(n)}`))
    }
    case 'disable': {
      const n = name()
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', `/admin/operators/${enc(n)}/disable`), values.json ? undefined : () => `disabled operator ${n}`)
    }
    case 'enable': {
      const n = name()
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', `/admin/operators/${enc(n)}/enable`), values.json ? undefined : withToken('enabled'))
    }
    case 'rotate': {
      const n = name()
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', `/admin/operators/${enc(n)}/rotate`), values.json ? undefined : withToken('rotated the token of'))
    }
    default:
      throw new UsageError(`operators: unknown action "${action}" (see anchorage operators --help)`)
  }
}

function renderList(b: { items: Array<Record<string, unknown>> }): string {
  return b.items.map((o) => `${String(o.status).padEnd(9)} ${String(o.role).padEnd(9)} ${String(o.name)}  created ${String(o.created_at)} by ${String(o.created_by)}${o.managed_by ? '  (token from the configuration)' : ''}`).join('\n') || '(no operators)'
}
