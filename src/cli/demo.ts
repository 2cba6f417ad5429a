/**
 * `anchorage demo`: a whole federation on localhost in one process, to try things out.
 *
 *        Trust Anchor  ─────────  Authorization Server   (both Anchorage; the AS trusts the TA,
 *             |                                           registers agents automatically)
 *        Intermediate            (Anchorage; statement TA -> IA carries a metadata policy)
 *        /    |     \
 *    agent   mcp     op          (small leaf servers: oauth_client, oauth_resource, openid_provider)
 *              \
 *         MCP endpoint           (a protected resource accepting only the AS's tokens)
 *
 * Every entity has its own keys; the two Anchorage deployments have their own temporary
 * directories (removed on exit). Runs until Ctrl-C (or until `options.until` settles).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, UsageError, type IO } from './args.js'
import { initDeployment } from './init.js'
import { startService, type RunningService as Service } from './serve.js'
import { createLogger } from '../logger.js'
import { systemClock } from '../clock.js'
import { startDemoLeaf, freePort, type DemoLeaf } from '../demo/leaf.js'
import { startProtectedResource, type ProtectedResource } from '../demo/protected_resource.js'
import { agentCallsResource } from '../demo/agent.js'
import { generateSigningKey, importPrivateJwk } from '../crypto/keys.js'
import type { SigningKey } from '../crypto/jwt.js'
import type { ConfigFile } from '../config/load.js'
import type { Metadata, MetadataPolicy } from '../types.js'

export const DEMO_HELP = `Usage: anchorage demo [--host ADDR] [--trust-reevaluation SECONDS]

Starts, in this process on local ports, a trust anchor, an intermediate, three leaves
(an AI agent as OAuth client, an MCP server as protected resource, an OpenID provider), an
authorization server that registers agents through their trust chains, and the MCP
server's endpoint, which accepts only that server's tokens. Onboards them, and prints
commands to try. Ctrl-C stops everything and removes the temporary deployment directories.

  --host ADDR                  address to listen on and use in entity ids (default 127.0.0.1)
  --trust-reevaluation SECONDS how old a registration may get before the authorization
                               server resolves the agent's chain again (default 15)`

/** The policy the anchor puts on everything under the intermediate. */
export const DEMO_POLICY: MetadataPolicy = {
  oauth_client: {
    grant_types: { subset_of: ['client_credentials', 'authorization_code', 'refresh_token'] },
    token_endpoint_auth_method: { one_of: ['private_key_jwt'] },
    contacts: { add: ['federation-ops@anchor.demo'] },
  },
  oauth_resource: { authorization_servers: { essential: true } },
  openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256', 'PS256'] } },
}

function leafMetadata(host: string, ports: { mcp: number; op: number; as: number; resource: number }, clientJwks: unknown): Record<'agent' | 'mcp' | 'op', Metadata> {
  const op = `http://${host}:${ports.op}`
  const as = `http://${host}:${ports.as}`
  return {
    agent: {
      federation_entity: { organization_name: 'Demo AI agent' },
      oauth_client: { client_name: 'Research agent', grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'], token_endpoint_auth_method: 'private_key_jwt', scope: 'mcp:tools', jwks: clientJwks },
    },
    mcp: {
      federation_entity: { organization_name: 'Demo MCP server' },
      oauth_resource: { resource: `http://${host}:${ports.resource}/mcp`, authorization_servers: [as], scopes_supported: ['mcp:tools'] },
    },
    op: {
      federation_entity: { organization_name: 'Demo OpenID provider' },
      openid_provider: {
        issuer: op, authorization_endpoint: `${op}/authorize`, token_endpoint: `${op}/token`, jwks_uri: `${op}/jwks`,
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256', 'RS256'],
        client_registration_types_supported: ['automatic'],
      },
    },
  }
}

export async function demoCommand(argv: string[], io: IO, options: { until?: Promise<unknown> } = {}): Promise<number> {
  const { values } = parse(argv, { host: { type: 'string' }, 'trust-reevaluation': { type: 'string' } })
  if (values.help) {
    io.stdout(DEMO_HELP)
    return 0
  }
  const host = values.host ?? '127.0.0.1'
  if (!/^[\w.-]+$/.test(host)) throw new UsageError(`--host: not a host name or IPv4 address: ${host}`)
  const reevaluation = Number(values['trust-reevaluation'] ?? 15)
  if (!Number.isInteger(reevaluation) || reevaluation < 1) throw new UsageError('--trust-reevaluation: a whole number of seconds, at least 1')
  const root = await mkdtemp(join(tmpdir(), 'anchorage-demo-'))
  const services: Service[] = []
  const leaves: DemoLeaf[] = []
  let resource: ProtectedResource | undefined
  try {
    const port = {
      ta: await freePort(host), ia: await freePort(host), as: await freePort(host), resource: await freePort(host),
      agent: await freePort(host), mcp: await freePort(host), op: await freePort(host),
    }
    const url = (p: number) => `http://${host}:${p}`
    const ta = await deployment(root, 'anchor', url(port.ta), [], 'Demo Trust Anchor', io)
    services.push(ta)
    const ia = await deployment(root, 'intermediate', url(port.ia), [ta.config.entity_id], 'Demo Intermediate', io)
    services.push(ia)
    const resourceUrl = `${url(port.resource)}/mcp`
    const as = await deployment(root, 'authorization-server', url(port.as), [ta.config.entity_id], 'Demo Authorization Server', io, {
      trust_anchors: [{ entity_id: ta.config.entity_id, jwks: await ta.federation.keystore.jwks() }],
      authorization_server: { enabled: true, resources: [resourceUrl], trust_reevaluation: reevaluation },
    })
    services.push(as)
    resource = await startProtectedResource({ port: port.resource, host, asIssuer: as.config.entity_id, audience: resourceUrl, requiredScope: 'mcp:tools' })
    const client = await clientKey()
    const metadata = leafMetadata(host, port, client.jwks)
    const agentId = url(port.agent)
    // The agent acts on command: POST /demo/call-mcp gets a token and calls the MCP endpoint.
    const act = agentRoute(() => agentCallsResource({
      agentId, clientKey: client.key, clock: systemClock, asIssuer: as.config.entity_id,
      tokenEndpoint: `${as.config.entity_id}/oauth/token`, resource: resourceUrl, scope: 'mcp:tools',
    }))
    for (const name of ['agent', 'mcp', 'op'] as const) {
      leaves.push(await startDemoLeaf({
        port: port[name], host, authorityHints: [ia.config.entity_id], metadata: metadata[name], clock: systemClock,
        ...(name === 'agent' ? { handle: act } : {}),
      }))
    }
    // Onboarding fetches each member's own entity configuration, checks it, and takes its keys.
    await ta.federation.subordinates.add({ entity_id: ia.config.entity_id, intermediate: true, metadata_policy: DEMO_POLICY }, 'demo')
    await ta.federation.subordinates.add({ entity_id: as.config.entity_id }, 'demo')
    for (const leaf of leaves) await ia.federation.subordinates.add({ entity_id: leaf.entityId }, 'demo')
    io.stdout(instructions(ta, ia, leaves, join(root, 'anchor')) + story(as, resourceUrl, agentId, ia.config.entity_id, join(root, 'anchor'), reevaluation))
    await (options.until ?? untilSignal())
    return 0
  } finally {
    await Promise.allSettled([...services.map((s) => s.stop()), ...leaves.map((l) => l.stop()), resource?.stop()])
    await rm(root, { recursive: true, force: true })
  }
}

async function clientKey(): Promise<{ key: SigningKey; jwks: { keys: unknown[] } }> {
  const k = await generateSigningKey('ES256')
  return { key: { kid: k.kid, alg: 'ES256', privateKey: await importPrivateJwk(k.privateJwk, 'ES256') }, jwks: { keys: [k.publicJwk] } }
}

function agentRoute(call: () => Promise<unknown>) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || req.url !== '/demo/call-mcp') return false
    call().then(
      (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r, null, 2) + '\n'),
      (err: Error) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message }) + '\n'),
    )
    return true
  }
}

function story(as: Service, resourceUrl: string, agent: string, ia: string, taDir: string, reevaluation: number): string {
  return `

The agent story (automatic registration, tokens, kill-switch):
  authorization server ${as.config.entity_id}   MCP endpoint ${resourceUrl}
  # 1. the agent gets a token (the AS resolves its chain to the anchor) and calls the MCP endpoint
  curl -s -X POST ${agent}/demo/call-mcp
  # 2. the operator removes the agent's organisation at the trust anchor
  anchorage subordinate remove ${ia} --dir ${taDir}
  # 3. after the re-evaluation interval (${reevaluation} s) the next token request is refused: invalid_client
  sleep ${reevaluation}; curl -s -X POST ${agent}/demo/call-mcp
`
}

async function deployment(root: string, name: string, entityId: string, hints: string[], organizationName: string, io: IO, extra: Partial<ConfigFile> = {}): Promise<Service> {
  const dir = join(root, name)
  await initDeployment({
    dir, entityId, development: true, organizationName, ...(hints.length ? { authorityHints: hints } : {}),
    extra: { outbound: { allow_http: true, allow_private_network: true }, ...extra },
  })
  const port = Number(new URL(entityId).port)
  const env = { ...io.env, ANCHORAGE_KEK: undefined, ANCHORAGE_ADMIN_TOKEN: undefined, ANCHORAGE_STORE: undefined, PORT: undefined, ANCHORAGE_TRUST_REEVALUATION_SECONDS: undefined }
  return startService(dir, { port, host: new URL(entityId).hostname, store: 'embedded' }, { env, logger: createLogger({ level: 'error' }) })
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

function instructions(ta: Service, ia: Service, leaves: DemoLeaf[], taDir: string): string {
  const TA = ta.config.entity_id
  const IA = ia.config.entity_id
  const [agent, mcp, op] = leaves.map((l) => l.entityId)
  const q = (s: string) => encodeURIComponent(s)
  return `Anchorage demo federation is running (Ctrl-C to stop):

  trust anchor   ${TA}
  intermediate   ${IA}   (under the anchor, with a metadata policy)
  agent          ${agent}   oauth_client
  mcp server     ${mcp}   oauth_resource
  op             ${op}   openid_provider

Try:
  # entity configurations (signed JWTs; the payload is the middle part)
  curl -s ${TA}/.well-known/openid-federation
  curl -s ${agent}/.well-known/openid-federation
  # subordinate statements and listings
  curl -s '${TA}/fetch?sub=${q(IA)}'
  curl -s '${IA}/fetch?sub=${q(agent!)}'
  curl -s ${TA}/list
  curl -s '${IA}/list?entity_type=oauth_client'
  # the resolver of the trust anchor: chain, policy-applied metadata, trust marks
  curl -s '${TA}/resolve?sub=${q(agent!)}&trust_anchor=${q(TA)}&entity_type=oauth_client'
  curl -s '${TA}/resolve?sub=${q(mcp!)}&trust_anchor=${q(TA)}'
  # the same, resolved locally and printed as a tree
  anchorage resolve ${agent} --trust-anchor ${TA} --allow-http --allow-private-network
  anchorage resolve ${op} --trust-anchor ${TA} --entity-type openid_provider --allow-http --allow-private-network
  # administer the anchor (remove the intermediate and watch resolution stop at once)
  anchorage subordinate list --dir ${taDir}
  anchorage subordinate remove ${IA} --dir ${taDir}`
}
