/**
 * `anchorage resource metadata|check`: the protected-resource toolkit
 * (protected_resource/guard.ts) from the command line, for the operator of an MCP server:
 * the RFC 9728 document to serve, and a token checked exactly as the guard checks it. Nothing
 * here runs a server: the guard is a library for the MCP server's own process
 * (docs/protected-resource.md). Exit 0 on success, 1 when check refuses the token, 2 on usage errors.
 */
import { readFileSync } from 'node:fs'
import { parse, UsageError, type IO } from './args.js'
import { DEFAULTS, ENV } from '../config/defaults.js'
import { isAbsoluteUrl, isEntityIdSyntax } from '../config/schemas.js'
import { createFetcher } from '../net/fetch.js'
import { createResourceGuard, type ResourceGuardOptions } from '../protected_resource/guard.js'

export const RESOURCE_HELP = `Usage: anchorage resource <metadata|check> --resource URL --as ISSUER [options]

  metadata   print the resource's RFC 9728 protected-resource metadata (JSON, on stdout) and,
             on stderr, the URL to serve it at (application/json): what an MCP client reads
             after a 401 naming it in WWW-Authenticate resource_metadata
  check      check an access token exactly as createResourceGuard does (RFC 9068: typ at+jwt,
             signature by a key at the authorization server's jwks_uri, iss, aud = the
             resource, exp, scopes) and print its claims, or the refusal the resource would
             answer: status, WWW-Authenticate and body (exit 1)

  --resource URL         the resource identifier (RFC 8707; the token's aud)
  --as ISSUER            an authorization server whose tokens are accepted; repeatable
  --scope S              a scope the resource supports (scopes_supported); repeatable
  --require-scope S      check: a scope every request needs; repeatable
  --name TEXT            metadata: resource_name
  --documentation URL    metadata: resource_documentation
  --metadata-url URL     where the document is served (default: RFC 9728 section 3.1, from --resource)
  --token TOKEN          check: the access token (default: read from stdin)
  --allow-http           check: allow an http authorization server ($${ENV.allowHttp}=1)
  --allow-private-network
                         check: allow loopback/private addresses ($${ENV.allowPrivateNetwork}=1)
  --ca-file FILE         check: extra CA certificates (PEM) trusted for https`

const OPTIONS = {
  resource: { type: 'string' }, as: { type: 'string', multiple: true }, scope: { type: 'string', multiple: true },
  'require-scope': { type: 'string', multiple: true }, name: { type: 'string' }, documentation: { type: 'string' },
  'metadata-url': { type: 'string' }, token: { type: 'string' },
  'allow-http': { type: 'boolean' }, 'allow-private-network': { type: 'boolean' }, 'ca-file': { type: 'string' },
} as const

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v)

export async function resourceCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, OPTIONS, true)
  if (values.help || !action || action === '--help' || action === '-h') {
    io.stdout(RESOURCE_HELP)
    return action ? 0 : 2
  }
  if (action !== 'metadata' && action !== 'check') throw new UsageError(`resource: unknown action ${action} (metadata or check)`)
  if (positionals.length) throw new UsageError(`resource ${action}: unexpected ${positionals[0]}`)
  const resource = values.resource
  if (!resource || !isAbsoluteUrl(resource) || resource.includes('#')) throw new UsageError(`resource ${action}: --resource URL is required (an absolute URL without fragment)`)
  const servers = values.as ?? []
  if (!servers.length) throw new UsageError(`resource ${action}: --as ISSUER is required`)
  for (const s of servers) if (!isEntityIdSyntax(s)) throw new UsageError(`resource ${action}: --as ${s}: not an issuer URL`)
  for (const [k, v] of [['documentation', values.documentation], ['metadata-url', values['metadata-url']]] as const) {
    if (v !== undefined && !isAbsoluteUrl(v)) throw new UsageError(`resource ${action}: --${k} ${v}: not an absolute URL`)
  }
  const options: ResourceGuardOptions = {
    resource, authorizationServers: servers,
    ...(values.scope ? { scopesSupported: values.scope } : {}),
    ...(values['require-scope'] ? { requiredScopes: values['require-scope'] } : {}),
    ...(values.name ? { resourceName: values.name } : {}),
    ...(values.documentation ? { resourceDocumentation: values.documentation } : {}),
    ...(values['metadata-url'] ? { metadataUrl: values['metadata-url'] } : {}),
    fetcher: createFetcher({
      allowHttp: Boolean(values['allow-http']) || truthy(io.env[ENV.allowHttp]),
      allowPrivateNetwork: Boolean(values['allow-private-network']) || truthy(io.env[ENV.allowPrivateNetwork]),
      timeoutMs: DEFAULTS.outbound.timeout_ms, maxResponseBytes: DEFAULTS.outbound.max_response_bytes,
      ...(values['ca-file'] ? { ca: readFileSync(values['ca-file']) } : {}),
    }),
  }
  const guard = createResourceGuard(options)
  if (action === 'metadata') {
    io.stdout(JSON.stringify(guard.metadata(), null, 2))
    io.stderr(`serve it as application/json at ${guard.metadataUrl}`)
    return 0
  }
  const token = (values.token ?? (await io.readFile('-'))).trim()
  if (!token) throw new UsageError('resource check: no token (--token, or on stdin)')
  const r = await guard.check(`Bearer ${token}`)
  if (r.ok) {
    io.stdout(JSON.stringify({ ok: true, scopes: r.scopes, claims: r.claims }, null, 2))
    return 0
  }
  io.stdout(JSON.stringify({ ok: false, status: r.status, 'www-authenticate': r.headers['www-authenticate'], body: r.body }, null, 2))
  return 1
}
