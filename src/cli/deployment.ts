/** `anchorage init` and `anchorage serve`: loaded only when one of them runs (main.ts imports lazily). */
import { resolve as resolvePath } from 'node:path'
import { parse, UsageError, type IO } from './args.js'
import { initDeployment } from './init.js'
import { startService, hasConfig, type RunningService as Service } from './serve.js'
import { intrinsicsFrozen } from './harden.js'
import { kekFromEnv, parseListen } from '../config/load.js'
import type { KeyAlg } from '../crypto/keys.js'
import type { KekMaterial } from '../config/kek.js'

export const INIT_HELP = `Usage: anchorage init --dir DIR --entity-id URL [options]

Creates DIR with anchorage.json (the configuration), keys.json (the first federation
key, encrypted when ANCHORAGE_KEK is set) and admin.token (the token of the first admin
operator, named admin; only its SHA-256 is kept in the configuration: move the token
somewhere safe). An https deployment gets a private admin plane: the admin API on its own
listener, admin.listen = 127.0.0.1:<port + 1>, port being the one serve will listen on ($PORT,
else the port the entity id writes, else 8080: 127.0.0.1:8081); a development one keeps it on
the shared listener.

  --dir DIR               deployment directory (created; must not hold a deployment yet)
  --entity-id URL         this entity's identifier (https; http only for development)
  --alg ALG               ES256 (default) | ES384 | PS256 | RS256 | EdDSA
  --authority-hint URL    a superior (makes this an intermediate); repeatable
  --organization-name S   published in the entity configuration
  --development           allow an http entity id (implied by an http entity id)
  --admin-listen HOST:PORT
                          the admin plane's listener (default 127.0.0.1:<port + 1> for https
                          deployments); 'shared': the admin API on the public listener
  --trust-anchor URL      pin a trust anchor's keys in trust_anchors (fetched from its
                          entity configuration now, thumbprints printed); repeatable
  --trust-anchor-jwks F   the anchor's keys from a JWKS file instead (one per
                          --trust-anchor, same order)
  --allow-private-network the anchor may be on a loopback/private address
                          ($ANCHORAGE_ALLOW_PRIVATE_NETWORK=1; kept in the configuration)
  --ca-file FILE          extra CA certificates (PEM) for the anchor's TLS certificate
                          (NODE_EXTRA_CA_CERTS works too; kept as outbound.ca_file)
  --authorization-server  also an OAuth authorization server: automatic and explicit
                          registration through trust chains (docs/registration.md); its token
                          keys (purpose oauth, algorithm ALG) are written to keys.json too
  --openid-provider       the authorization server is also an OpenID Provider (implies
                          --authorization-server): ID tokens signed with RS256 by default, so
                          an RS256 oauth key is written beside the ALG one
  --resource URI          a resource tokens may be issued for (RFC 8707); repeatable`

export const SERVE_HELP = `Usage: anchorage serve [--dir DIR] [options]

  --dir DIR                 deployment directory (default: ./federation)
  --port N                  listen port (default: $PORT, else server.port of the configuration,
                            else the entity id's: the port it writes, else 80 for http, 443 for
                            https with --tls-cert, 8080 for https behind a TLS-terminating proxy;
                            a port other than the entity id's is warned about)
  --host ADDR               listen address (default: server.host of the configuration, else
                            127.0.0.1 for a development deployment, else 0.0.0.0)
  --store SPEC              'embedded' or a mongodb:// URI (default: $ANCHORAGE_STORE, else configuration)
  --tls-cert FILE --tls-key FILE
                            terminate TLS here
  --trust-proxy             trust X-Forwarded-* headers from a reverse proxy
  --ca-file FILE            extra CA certificates (PEM) trusted for outbound fetches
                            (NODE_EXTRA_CA_CERTS works too)
  --allow-http              allow outbound http fetches ($ANCHORAGE_ALLOW_HTTP=1)
  --allow-private-network   allow outbound fetches to loopback/private addresses
                            ($ANCHORAGE_ALLOW_PRIVATE_NETWORK=1)
  --trust-reevaluation S    authorization server: re-resolve a registration's trust chain
                            when older than S seconds ($ANCHORAGE_TRUST_REEVALUATION_SECONDS)
  --admin-listen HOST:PORT  the admin plane's listener instead of admin.listen of the
                            configuration (plain HTTP unless admin.tls_cert: keep it on loopback)
  --admin-tls-cert FILE --admin-tls-key FILE
                            TLS on the admin plane (instead of admin.tls_cert/admin.tls_key);
                            needed when the admin plane is not on a loopback address
  --init-if-missing         create a development deployment (entity id
                            http://localhost:PORT) when DIR has none

Environment: ANCHORAGE_ADMIN_TOKEN (the token of operator admin, overrides the stored hash),
ANCHORAGE_KEK (encrypts private keys at rest), ANCHORAGE_LOG_LEVEL.`

export async function initCommand(argv: string[], io: IO): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string' }, 'entity-id': { type: 'string' }, alg: { type: 'string' },
    'authority-hint': { type: 'string', multiple: true }, 'organization-name': { type: 'string' }, development: { type: 'boolean' },
    'trust-anchor': { type: 'string', multiple: true }, 'trust-anchor-jwks': { type: 'string', multiple: true },
    'authorization-server': { type: 'boolean' }, 'openid-provider': { type: 'boolean' }, resource: { type: 'string', multiple: true },
    'allow-private-network': { type: 'boolean' }, 'ca-file': { type: 'string' }, 'admin-listen': { type: 'string' },
  })
  if (values.help) {
    io.stdout(INIT_HELP)
    return 0
  }
  if (!values.dir) throw new UsageError('init: --dir is required')
  if (!values['entity-id']) throw new UsageError('init: --entity-id is required')
  const adminListen = values['admin-listen']
  if (adminListen !== undefined && adminListen !== 'shared' && !parseListen(adminListen)) throw new UsageError(`--admin-listen: must be HOST:PORT (or [IPv6]:PORT) or shared: ${adminListen}`)
  const envPort = portFromEnv(io)
  const caPath = values['ca-file']
  const caFile = caPath ? { path: resolvePath(caPath), pem: await io.readFile(caPath).catch((err: Error) => {
    throw new UsageError(`--ca-file: cannot read ${caPath}: ${err.message}`)
  }) } : undefined
  const { authorizationServerInit } = await import('./authorization_server_init.js')
  const as = await authorizationServerInit({
    anchors: values['trust-anchor'] ?? [], jwksFiles: values['trust-anchor-jwks'] ?? [], resources: values.resource ?? [],
    enabled: (values['authorization-server'] || values['openid-provider']) ?? false, readFile: (p) => io.readFile(p),
    ...(values['openid-provider'] ? { openidProvider: true } : {}),
    development: values.development ?? values['entity-id'].startsWith('http:'),
    ...(values['allow-private-network'] || truthyEnv(io.env.ANCHORAGE_ALLOW_PRIVATE_NETWORK) ? { allowPrivateNetwork: true } : {}),
    ...(caFile ? { caFile } : {}),
  }).catch((err: Error) => {
    throw new UsageError(err.message)
  })
  const r = await initDeployment({
    dir: values.dir, entityId: values['entity-id'],
    ...(values.alg ? { alg: values.alg as KeyAlg } : {}),
    ...(values['authority-hint'] ? { authorityHints: values['authority-hint'] } : {}),
    ...(values['organization-name'] ? { organizationName: values['organization-name'] } : {}),
    ...(values.development ? { development: true } : {}),
    ...(adminListen === 'shared' ? { adminListen: null } : adminListen !== undefined ? { adminListen } : {}),
    ...(envPort !== undefined ? { port: envPort } : {}),
    ...kekOption(io),
    extra: as.extra,
  }).catch((err: Error) => {
    throw new UsageError(err.message)
  })
  for (const line of as.lines) io.stdout(line)
  io.stdout(`created ${r.configPath}\nfederation key ${r.kid}\n${r.oauthKeys.map((k) => `oauth key ${k.kid} (${k.alg})\n`).join('')}admin token (operator admin, role admin) written to ${r.tokenPath}:\n  ${r.adminToken}`)
  io.stdout(r.adminListen ? `admin plane: http://${r.adminListen} (admin.listen; never expose it publicly)` : 'admin plane: shared with the public listener (development; set admin.listen in production)')
  return 0
}

/** PORT, when set: a port a deployment can be made for (1 to 65535), else a usage error. */
function portFromEnv(io: IO): number | undefined {
  const port = io.env.PORT ? Number(io.env.PORT) : undefined
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`PORT: not a port number: ${io.env.PORT}`)
  return port
}

/** An environment flag: 1, true or yes. */
function truthyEnv(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes'].includes(v.toLowerCase())
}

/** ANCHORAGE_KEK for the first key `init` writes (a too-short KEK is refused before anything is written). */
function kekOption(io: IO): { kek?: KekMaterial } {
  const kek = kekFromEnv(io.env)
  return kek ? { kek } : {}
}

export async function serveCommand(argv: string[], io: IO): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, store: { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'trust-proxy': { type: 'boolean' }, 'ca-file': { type: 'string' },
    'allow-http': { type: 'boolean' }, 'allow-private-network': { type: 'boolean' }, 'init-if-missing': { type: 'boolean' },
    'trust-reevaluation': { type: 'string' }, 'admin-listen': { type: 'string' }, 'admin-tls-cert': { type: 'string' }, 'admin-tls-key': { type: 'string' },
  })
  if (values.help) {
    io.stdout(SERVE_HELP)
    return 0
  }
  const dir = values.dir ?? 'federation'
  const port = values.port !== undefined ? Number(values.port) : undefined
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError(`--port: not a port number: ${values.port}`)
  const reevaluation = values['trust-reevaluation'] !== undefined ? Number(values['trust-reevaluation']) : undefined
  if (reevaluation !== undefined && !(Number.isInteger(reevaluation) && reevaluation >= 1)) throw new UsageError(`--trust-reevaluation: not a whole number of seconds: ${values['trust-reevaluation']}`)
  if (values['init-if-missing'] && !(await hasConfig(dir))) {
    const p = port ?? portFromEnv(io) ?? 8080
    const r = await initDeployment({ dir, entityId: `http://localhost:${p}`, development: true, ...kekOption(io) })
    io.stdout(`No configuration found: created a development deployment.\n  configuration: ${r.configPath}\n  admin token:   ${r.tokenPath}`)
  }
  const service = await startService(dir, {
    ...(port !== undefined ? { port } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values.store ? { store: values.store } : {}),
    ...(values['tls-cert'] ? { tls_cert: values['tls-cert'] } : {}),
    ...(values['tls-key'] ? { tls_key: values['tls-key'] } : {}),
    ...(values['trust-proxy'] ? { trust_proxy: true } : {}),
    ...(values['ca-file'] ? { ca_file: values['ca-file'] } : {}),
    ...(values['allow-http'] ? { allow_http: true } : {}),
    ...(values['allow-private-network'] ? { allow_private_network: true } : {}),
    ...(reevaluation !== undefined ? { trust_reevaluation: reevaluation } : {}),
    ...(values['admin-listen'] ? { admin_listen: values['admin-listen'] } : {}),
    ...(values['admin-tls-cert'] ? { admin_tls_cert: values['admin-tls-cert'] } : {}),
    ...(values['admin-tls-key'] ? { admin_tls_key: values['admin-tls-key'] } : {}),
  }, { env: io.env })
  // Signal handlers first: whoever reads the listening line may stop the server at once.
  const stopped = untilSignal(service, io)
  // Frozen by the process entry (run.ts), not when main() is called from a library or a test.
  const frozen = intrinsicsFrozen() ? ', intrinsics frozen' : ''
  const adminPlane = service.server.admin ? `, admin plane on ${service.server.admin.url}` : ''
  io.stdout(`anchorage: ${service.config.entity_id} listening on ${service.server.url}${adminPlane} (store: ${service.store.kind}${frozen})`)
  return stopped
}

/**
 * The first SIGTERM/SIGINT shuts down cleanly (exit 0); a second one during shutdown exits
 * at once with status 1 (writes acknowledged before are already durable).
 */
function untilSignal(service: Service, io: IO): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.stderr(`anchorage: ${signal} during shutdown: exiting without waiting for in-flight requests`)
        process.exit(1)
      }
      stopping = true
      service.federation.logger.info('shutting down', { signal })
      void service.stop().then(() => 0, (err: Error) => {
        io.stderr(`anchorage: shutdown: ${err.message}`)
        return 1
      }).then((code) => {
        service.federation.logger.info('stopped', { signal })
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
        resolve(code)
      })
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}
