/**
 * A user signing in at an Anchorage OpenID Provider for a client, scripted end to end (the
 * demo's user-delegated agent, the registration benchmark's round trips): the client pushes
 * its authorization request (RFC 9126, authenticated with private_key_jwt, RFC 7523) with
 * PKCE (RFC 7636, S256), state and nonce; the user's browser (browser.ts) follows it to the
 * login page, signs in with a users-file name and password, approves on the consent page and
 * is sent back to the redirect_uri with the code; the client redeems the code with its
 * verifier (OpenID Connect Core 3.1.3). Nothing is mocked: every step is an HTTP request.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { signJwt, type SigningKey } from '../crypto/jwt.js'
import { CLIENT_ASSERTION_TYPE } from './agent.js'
import { Browser, formAction, type Page } from './browser.js'

/** The OP's endpoints this flow uses (its OpenID Connect Discovery document). */
export interface OpEndpoints {
  issuer: string
  authorization_endpoint: string
  pushed_authorization_request_endpoint: string
  token_endpoint: string
}

export interface CodeFlowClient {
  /** The client's entity id (its client_id). */
  id: string
  key: SigningKey
  redirectUri: string
}

export interface CodeFlowTokens {
  access_token: string
  token_type: string
  expires_in: number
  id_token?: string
  refresh_token?: string
  scope?: string
}

/** The OP's endpoints, from its discovery document. */
export async function discoverOp(issuer: string): Promise<OpEndpoints> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`)
  if (res.status !== 200) throw new Error(`discovery at ${issuer}: HTTP ${res.status}`)
  const md = (await res.json()) as Partial<OpEndpoints>
  for (const k of ['authorization_endpoint', 'pushed_authorization_request_endpoint', 'token_endpoint'] as const) {
    if (typeof md[k] !== 'string') throw new Error(`discovery at ${issuer}: no ${k}`)
  }
  return { issuer, ...md } as OpEndpoints
}

/** A client assertion (RFC 7523) for the OP, signed with the client's key. */
export async function clientAssertion(client: CodeFlowClient, audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000) // checked with the OP's system clock (docs/authorization-server.md "Clocks")
  return signJwt({ iss: client.id, sub: client.id, aud: audience, jti: randomUUID(), iat: now, exp: now + 60 }, client.key, 'JWT')
}

const b64url = (b: Buffer) => b.toString('base64url')

/**
 * The whole round trip: PAR, authorize, login, consent, code redemption. `resource` asks for
 * an access token for that resource (RFC 8707). Throws naming the step that went wrong.
 */
export async function authorizationCodeFlow(o: {
  op: OpEndpoints
  client: CodeFlowClient
  user: { username: string; password: string }
  scope: string
  resource?: string
  /** The user's browser (a fresh one by default: a new session, so login and consent both show). */
  browser?: Browser
}): Promise<CodeFlowTokens> {
  const { op, client } = o
  const verifier = b64url(randomBytes(32))
  const state = b64url(randomBytes(16))
  const pushed = await post(op.pushed_authorization_request_endpoint, {
    client_id: client.id, response_type: 'code', redirect_uri: client.redirectUri, scope: o.scope,
    state, nonce: b64url(randomBytes(16)), code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
    ...(o.resource ? { resource: o.resource } : {}),
    client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(client, op.issuer),
  })
  if (pushed.status !== 201 || typeof pushed.body.request_uri !== 'string') throw new Error(`pushed authorization request: HTTP ${pushed.status} ${JSON.stringify(pushed.body)}`)
  const browser = o.browser ?? new Browser()
  const login = await browser.go(`${op.authorization_endpoint}?${new URLSearchParams({ client_id: client.id, request_uri: pushed.body.request_uri }).toString()}`, client.redirectUri)
  const consent = await step('login', login, (p) => browser.submit(formAction(p, '/login'), { username: o.user.username, password: o.user.password }, client.redirectUri))
  const back = await step('consent', consent, (p) => browser.submit(formAction(p, '/consent'), { decision: 'approve' }, client.redirectUri))
  if (!back.url.startsWith(client.redirectUri)) throw new Error(`after consent: HTTP ${back.status} at ${back.url}`)
  const answer = new URL(back.url).searchParams
  if (answer.get('state') !== state) throw new Error('authorization response: state does not match')
  const code = answer.get('code')
  if (!code) throw new Error(`authorization response: ${answer.get('error') ?? 'no code'}: ${answer.get('error_description') ?? ''}`)
  const tokens = await post(op.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier,
    ...(o.resource ? { resource: o.resource } : {}),
    client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(client, op.issuer),
  })
  if (tokens.status !== 200) throw new Error(`code redemption: HTTP ${tokens.status} ${JSON.stringify(tokens.body)}`)
  return tokens.body as unknown as CodeFlowTokens
}

/** The page of a step (login or consent) must be that page; then `act` on it. */
async function step(name: string, page: Page, act: (p: Page) => Promise<Page>): Promise<Page> {
  if (page.status !== 200 || !page.body.includes(`/${name}"`)) throw new Error(`${name} page: HTTP ${page.status} at ${page.url}: ${page.body.slice(0, 300)}`)
  return act(page)
}

async function post(url: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) })
  const text = await res.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    body = { text: text.slice(0, 300) }
  }
  return { status: res.status, body }
}
