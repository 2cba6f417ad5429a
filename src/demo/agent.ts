/**
 * The demo's AI agent acting as an OAuth client: it authenticates with private_key_jwt
 * (RFC 7523) at the authorization server's token endpoint — where automatic registration
 * resolves its trust chain — and calls the MCP server with the access token it gets: on its
 * own (client_credentials), or for a user whose token it holds (token exchange, RFC 8693).
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import { signJwt, type SigningKey } from '../crypto/jwt.js'
import { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from '../authorization_server/token_exchange.js'

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** The agent as an OAuth client of one authorization server. */
export interface DemoAgent {
  agentId: string
  clientKey: SigningKey
  clock: Clock
  asIssuer: string
  tokenEndpoint: string
}

export interface AgentCallResult {
  token: { status: number; body: unknown }
  resource?: { status: number; body: unknown }
}

/** The agent on its own: a client_credentials token for `resource`, then the call. */
export async function agentCallsResource(o: DemoAgent & { resource: string; scope: string }): Promise<AgentCallResult> {
  const { status, body } = await requestToken(o, { grant_type: 'client_credentials', scope: o.scope, resource: o.resource })
  const result: AgentCallResult = { token: { status, body: elided(body) } }
  if (body.access_token) result.resource = await call(o.resource, body.access_token)
  return result
}

export interface DelegatedCallResult {
  /** The exchange (RFC 8693): status, and the claims of the token it gave (its value elided). */
  exchange: { status: number; body: unknown; claims?: Record<string, unknown> }
  resource?: { status: number; body: unknown }
}

/**
 * The agent acting for a user: it exchanges the user's access token (`subjectToken`, issued
 * to the agent by the user's sign-in) for a token for one resource, down-scoped to `scope`,
 * naming the agent in `act` (RFC 8693 section 4.1), and calls the resource with it.
 */
export async function agentActsForUser(o: DemoAgent & { subjectToken: string; resource: string; scope: string }): Promise<DelegatedCallResult> {
  const { status, body } = await requestToken(o, {
    grant_type: TOKEN_EXCHANGE_GRANT, subject_token: o.subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: o.resource, scope: o.scope,
  })
  if (!body.access_token) return { exchange: { status, body } }
  return { exchange: { status, body: elided(body), claims: jwtClaims(body.access_token) }, resource: await call(o.resource, body.access_token) }
}

/** A token request authenticated with a fresh private_key_jwt assertion (RFC 7523). */
async function requestToken(a: DemoAgent, form: Record<string, string>): Promise<{ status: number; body: { access_token?: string } }> {
  const now = a.clock.now()
  const assertion = await signJwt({ iss: a.agentId, sub: a.agentId, aud: a.asIssuer, jti: randomUUID(), iat: now, exp: now + 60 }, a.clientKey, 'JWT')
  const res = await fetch(a.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion }),
  })
  return { status: res.status, body: (await res.json()) as { access_token?: string } }
}

/** What is shown of a token response: the token's value cut short. */
const elided = (body: { access_token?: string }): unknown => (body.access_token ? { ...body, access_token: `${body.access_token.slice(0, 24)}…` } : body)

/** A JWT's claims, unverified (for showing what a token says; the resource verifies it). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

async function call(resource: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(resource, { headers: { authorization: `Bearer ${token}` } })
  const text = await res.text()
  try {
    return { status: res.status, body: JSON.parse(text) }
  } catch {
    return { status: res.status, body: text }
  }
}
