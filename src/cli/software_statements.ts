/** `anchorage software-statement`: the trust anchor's software statements (docs/software-statements.md) through the admin API. */
import { parse, UsageError, type IO } from './args.js'
import { adminClient, report, readJsonFile, scalar, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'

export const SOFTWARE_STATEMENT_HELP = `Usage: anchorage software-statement <issue|revoke|list> [options]

  issue --software-id ID --client-name NAME [options]
        Issue a software statement (a software-statement+jwt signed with this entity's
        federation key) to a vetted partner for RFC 7591 dynamic client registration;
        prints the JWT (--json: the jti, claims and status too).
          --jwks FILE           the client's public keys (a JWK Set file)
          --jwks-uri URL        or where it publishes them (https)
          --grant-type G        repeatable (default authorization_code with redirect URIs,
                                else client_credentials)
          --scope "S1 S2"       the scopes it may ask for
          --redirect-uri URL    repeatable (https, or http on a loopback IP literal)
          --client-uri URL      --software-version V
          --lifetime SECONDS    exp - iat (default software_statements.default_lifetime)
  revoke JTI [--reason TEXT]
        Revoke a statement: registrations presenting it are refused from then on.
  list [--software-id ID] [--status active|expired|revoked] [--limit N] [--after JTI]

${CONNECTION_HELP}
  --json          print raw JSON`

export async function softwareStatementCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    ...CONNECTION_OPTIONS,
    'software-id': { type: 'string' }, 'software-version': { type: 'string' }, 'client-name': { type: 'string' }, 'client-uri': { type: 'string' },
    jwks: { type: 'string' }, 'jwks-uri': { type: 'string' }, 'grant-type': { type: 'string', multiple: true }, scope: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true }, lifetime: { type: 'string' }, reason: { type: 'string' },
    status: { type: 'string' }, limit: { type: 'string' }, after: { type: 'string' },
  }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(SOFTWARE_STATEMENT_HELP)
    return action ? 0 : 2
  }
  switch (action) {
    case 'issue': {
      if (!values['software-id']) throw new UsageError('software-statement issue: --software-id is required')
      if (!values['client-name']) throw new UsageError('software-statement issue: --client-name is required')
      const body: Record<string, unknown> = { software_id: values['software-id'], client_name: values['client-name'] }
      if (values['software-version']) body.software_version = values['software-version']
      if (values['client-uri']) body.client_uri = values['client-uri']
      if (values.jwks) body.jwks = await readJsonFile(io, values.jwks, '--jwks')
      if (values['jwks-uri']) body.jwks_uri = values['jwks-uri']
      if (values['grant-type']) body.grant_types = values['grant-type']
      if (values.scope) body.scope = values.scope
      if (values['redirect-uri']) body.redirect_uris = values['redirect-uri']
      if (values.lifetime !== undefined) {
        const n = Number(values.lifetime)
        if (!Number.isInteger(n) || n <= 0) throw new UsageError('--lifetime: must be a whole number of seconds')
        body.lifetime = n
      }
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', '/admin/software-statements', body), values.json ? undefined : (b) => String((b as { software_statement: string }).software_statement))
    }
    case 'revoke': {
      const jti = positionals[0]
      if (!jti) throw new UsageError('software-statement revoke: JTI is required')
      const client = await adminClient(values, io)
      return report(io, await client.call('POST', '/admin/software-statements/revoke', { jti, ...(values.reason ? { reason: values.reason } : {}) }), values.json ? undefined : (b) => {
        const r = b as { jti: string; software_id: string }
        return `revoked ${r.jti} (${r.software_id})`
      })
    }
    case 'list': {
      const q = new URLSearchParams()
      if (values['software-id']) q.set('software_id', values['software-id'])
      if (values.status) q.set('status', values.status)
      if (values.limit) q.set('limit', values.limit)
      if (values.after) q.set('after', values.after)
      const client = await adminClient(values, io)
      return report(io, await client.call('GET', `/admin/software-statements?${q.toString()}`), values.json ? undefined : (b) => {
        const page = b as { items: Array<Record<string, unknown>>; next?: string }
        const lines = page.items.map((s) => `${String(s.status).padEnd(8)} ${String(s.jti)} ${String(s.software_id)} exp=${scalar(s.exp)}`)
        if (page.next) lines.push(`(more: --after ${page.next})`)
        return lines.join('\n') || '(no software statements issued)'
      })
    }
    default:
      throw new UsageError(`software-statement: unknown action "${action}" (see anchorage software-statement --help)`)
  }
}
