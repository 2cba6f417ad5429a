/**
 * The demo's AI agent acting as an OAuth client: it authenticates with private_key_jwt
 * (RFC 7523) at the authorization server's token endpoint — where automatic registration
 * resolves its trust chain — and calls the MCP server with the access token it gets.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import { signJwt, type SigningKey } from '../crypto/jwt.js'

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface AgentCallResult {
  token: { status: number; body: unknown }
  resource?: { status: number; body: unknown }
}

export async function agentCallsResource(o: {
  agentId: string
  clientKey: SigningKey
  clock: Clock
  asIssuer: string
  tokenEndpoint: string
  resource: string
  scope: string
}): Promise<AgentCallResult> {
  const now = o.clock.now()
  const assertion = await signJwt({ iss: o.agentId, sub: o.agentId, aud: o.asIssuer, jti: randomUUID(), iat: now, exp: now + 60 }, o.clientKey, 'JWT')
  const res = await fetch(o.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, scope: o.scope, resource: o.resource }),
  })
  const body = (await res.json()) as { access_token?: string }
  const result: AgentCallResult = { token: { status: res.status, body: body.access_token ? { ...body, access_token: `${body.access_token.slice(0, 24)}…` } : body } }
  if (!body.access_token) return result
  const call = await fetch(o.resource, { headers: { authorization: `Bearer ${body.access_token}` } })
  const text = await call.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    /* keep text */
  }
  result.resource = { status: call.status, body: parsed }
  return result
}
