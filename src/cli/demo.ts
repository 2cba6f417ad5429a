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
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
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
import { agentCallsResource, agentActsForUser, jwtClaims, type DelegatedCallResult } from '../demo/agent.js'
import { authorizationCodeFlow, discoverOp } from '../demo/code_flow.js'
import { hashPassword } from '../authorization_server/accounts.js'
import { TOKEN_EXCHANGE_GRANT } from '../authorization_server/token_exchange.js'
import { generateSigningKey, importPrivateJwk } from '../crypto/keys.js'
import type { SigningKey } from '../crypto/jwt.js'
import type { ConfigFile } from '../config/load.js'
import type { Metadata, MetadataPolicy } from '../types.js'

export const DEMO_HELP = `Usage: anchorage demo [--host ADDR] [--trust-reevaluation SECONDS]

Starts, in this process on local ports, a trust anchor, an intermediate, three leaves
(an AI agent as OAuth client, an MCP server as protected resource, an OpenID provider), an
authorization server that registers agents through their trust chains (and is the OpenID
Provider a demo user signs in at), and the MCP server's endpoint, which accepts only that
server's tokens. Onboards them, and prints commands to try. Ctrl-C stops everything and removes the temporary deployment directories.

  --host ADDR                  address to listen on and use in entity ids (default 127.0.0.1)
  --trust-reevaluation SECONDS how old a registration may get before the authorization
                               server resolves the agent's chain again (default 15)`

/** The policy the anchor puts on everything under the intermediate. */
export const DEMO_POLICY: MetadataPolicy = {
  oauth_client: {
    grant_types: { subset_of: ['client_credentials', 'authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT] },
    token_endpoint_auth_method: { one_of: ['private_key_jwt'] },
    contacts: { add: ['federation-ops@anchor.demo'] },
  },
  oauth_resource: { authorization_servers: { essential: true } },
  openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256', 'PS256'] } },
}

/** The demo's user at the authorization server's OpenID Provider (users file; the password is made per run). */
export const DEMO_USER = 'alice'
/** The scopes of the MCP endpoint: a user grants both, the agent acting for her gets mcp:tools only. */
const SCOPES = ['mcp:tools', 'mcp:read']

function leafMetadata(host: string, ports: { agent: number; mcp: number; op: number; as: number; resource: number }, clientJwks: unknown): Record<'agent' | 'mcp' | 'op', Metadata> {
  const op = `http://${host}:${ports.op}`
  const as = `http://${host}:${ports.as}`
  return {
    agent: {
      federation_entity: { organization_name: 'Demo AI agent' },
      oauth_client: {
        client_name: 'Research agent', token_endpoint_auth_method: 'private_key_jwt', scope: `openid ${SCOPES.join(' ')}`, jwks: clientJwks,
        // The anchor's policy takes device_code away; authorization_code and token exchange let it act for a user.
        grant_types: ['client_credentials', 'authorization_code', TOKEN_EXCHANGE_GRANT, 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'], redirect_uris: [`http://${host}:${ports.agent}/demo/callback`],
      },
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
    // The OpenID Provider's one user (users file, scrypt hash; docs/authorization-server.md "Users and login").
    const password = randomBytes(9).toString('base64url')
    const usersFile = join(root, 'users.json')
    await writeFile(usersFile, JSON.stringify({ users: { [DEMO_USER]: { password: await hashPassword(password), claims: { name: 'Alice Demo', email: 'alice@user.demo', email_verified: true } } } }), { mode: 0o600 })
    const as = await deployment(root, 'authorization-server', url(port.as), [ta.config.entity_id], 'Demo Authorization Server', io, {
      trust_anchors: [{ entity_id: ta.config.entity_id, jwks: await ta.federation.keystore.jwks() }],
      authorization_server: { enabled: true, resources: [resourceUrl], trust_reevaluation: reevaluation, openid_provider: true, users_file: usersFile, scopes_supported: SCOPES },
    })
    services.push(as)
    resource = await startProtectedResource({ port: port.resource, host, asIssuer: as.config.entity_id, audience: resourceUrl, requiredScope: 'mcp:tools' })
    const client = await clientKey()
    const metadata = leafMetadata(host, port, client.jwks)
    const agentId = url(port.agent)
    // The agent acts on command: POST /demo/call-mcp gets a token and calls the MCP endpoint.
    const tokenEndpoint = `${as.config.entity_id}/oauth/token`
    const onItsOwn = () => agentCallsResource({
      agentId, clientKey: client.key, clock: systemClock, asIssuer: as.config.entity_id, tokenEndpoint, resource: resourceUrl, scope: 'mcp:tools',
    })
    // POST /demo/act-for-user: the user signs in for the agent (once; the agent keeps her token), then the agent exchanges it.
    const forUser = delegatedAgent({
      signIn: async () => authorizationCodeFlow({
        op: await discoverOp(as.config.entity_id), client: { id: agentId, key: client.key, redirectUri: `${agentId}/demo/callback` },
        user: { username: DEMO_USER, password }, scope: `openid ${SCOPES.join(' ')}`, resource: resourceUrl,
      }),
      exchange: (subjectToken) => agentActsForUser({
        agentId, clientKey: client.key, clock: systemClock, asIssuer: as.config.entity_id, tokenEndpoint, subjectToken, resource: resourceUrl, scope: 'mcp:tools',
      }),
    })
    const act = agentRoutes({ '/demo/call-mcp': onItsOwn, '/demo/act-for-user': forUser })
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
    io.stdout(instructions(ta, ia, leaves, join(root, 'anchor')) + story(as, resourceUrl, agentId, ia.config.entity_id, join(root, 'anchor'), reevaluation, password))
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

/**
 * The agent acting for the demo user: her sign-in (scripted: PAR, login, consent, code
 * redemption) gives the agent her access token, which it keeps while it is valid; each call
 * exchanges it (RFC 8693) for a down-scoped token naming the agent in `act`.
 */
function delegatedAgent(o: { signIn: () => Promise<{ access_token: string; expires_in: number; scope?: string }>; exchange: (subjectToken: string) => Promise<DelegatedCallResult> }) {
  let held: { token: string; until: number } | undefined
  return async () => {
    let signedIn: Record<string, unknown> | undefined
    if (!held || held.until <= Date.now()) {
      const tokens = await o.signIn()
      held = { token: tokens.access_token, until: Date.now() + (tokens.expires_in - 5) * 1000 }
      const c = jwtClaims(tokens.access_token)
      signedIn = { sub: c.sub, client_id: c.client_id, aud: c.aud, scope: c.scope, exp: c.exp }
    }
    return { user_token: signedIn ?? 'held from the earlier sign-in', ...(await o.exchange(held.token)) }
  }
}

function agentRoutes(routes: Record<string, () => Promise<unknown>>) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const call = req.method === 'POST' && req.url !== undefined && Object.hasOwn(routes, req.url) ? routes[req.url] : undefined
    if (!call) return false
    call().then(
      (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r, null, 2) + '\n'),
      (err: Error) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message }) + '\n'),
    )
    return true
  }
}

function story(as: Service, resourceUrl: string, agent: string, ia: string, taDir: string, reevaluation: number, password: string): string {
  return `

The agent story (automatic registration, tokens, kill-switch):
  authorization server ${as.config.entity_id}   MCP endpoint ${resourceUrl}
  # 1. the agent gets a token (the AS resolves its chain to the anchor) and calls the MCP endpoint
  curl -s -X POST ${agent}/demo/call-mcp
  # 2. the agent acts for a user: ${DEMO_USER} (password ${password}) signs in at the AS's OpenID Provider and
  #    consents (scripted: PAR, login, consent, code + PKCE), the agent exchanges her token (RFC 8693) for one
  #    for the MCP endpoint only, scope mcp:tools, with act = the agent, and calls the MCP endpoint
  curl -s -X POST ${agent}/demo/act-for-user
  # 3. the operator removes the agent's organisation at the trust anchor
  npx anchorage subordinate remove ${ia} --dir ${taDir}
  # 4. after the re-evaluation interval (${reevaluation} s) the agent is cut off: its next token request
  #    and its next exchange of the user's token are refused (invalid_client)
  sleep ${reevaluation}; curl -s -X POST ${agent}/demo/call-mcp; curl -s -X POST ${agent}/demo/act-for-user
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
  curl -s ${agent}/.well-known/openid-federation | npx anchorage jwt decode -
  # subordinate statements and listings
  curl -s '${TA}/fetch?sub=${q(IA)}'
  curl -s '${IA}/fetch?sub=${q(agent!)}'
  curl -s ${TA}/list
  curl -s '${IA}/list?entity_type=oauth_client'
  # the resolver of the trust anchor: chain, policy-applied metadata, trust marks
  curl -s '${TA}/resolve?sub=${q(agent!)}&trust_anchor=${q(TA)}&entity_type=oauth_client'
  curl -s '${TA}/resolve?sub=${q(mcp!)}&trust_anchor=${q(TA)}'
  # the same, resolved locally and printed as a tree
  npx anchorage resolve ${agent} --trust-anchor ${TA} --allow-http --allow-private-network
  npx anchorage resolve ${op} --trust-anchor ${TA} --entity-type openid_provider --allow-http --allow-private-network
  # administer the anchor (remove the intermediate and watch resolution stop at once)
  npx anchorage subordinate list --dir ${taDir}
  npx anchorage subordinate remove ${IA} --dir ${taDir}`
}
