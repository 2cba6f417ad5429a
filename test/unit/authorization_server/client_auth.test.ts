/**
 * RFC 7523 client assertion checks that need no key (inspectAssertion), and the scope and
 * resource rules of the token endpoint (RFC 6749 section 3.3, RFC 8707).
 */
import { strict as assert } from 'node:assert'
import { inspectAssertion as inspectTyped, ASSERTION_TYPE } from '../../../src/authorization_server/client_auth.js'
import { clientAuthenticationOf } from '../../../src/http/endpoints/oauth_requests.js'
import { grantedScopes, targetResource } from '../../../src/authorization_server/tokens.js'
import { FederationError } from '../../../src/errors.js'
import { testKey, type TestKey } from '../../support/entity.js'
import { assertion, weakAssertion } from '../../support/agent.js'

const NOW = 1_800_000_000
const AS = 'https://as.example'
const CLIENT = 'https://agent.example'
const OPTIONS = { audiences: [AS, `${AS}/oauth/token`], now: NOW, skew: 60, maxLifetime: 300 }

/** The token endpoint's form, read as the HTTP layer reads it, then inspected. */
const inspectAssertion = (form: URLSearchParams, o: typeof OPTIONS) => inspectTyped(clientAuthenticationOf(form), o)
/** The token request's resource values, as the HTTP layer reads them. */
const resources = (form: URLSearchParams) => form.getAll('resource')

function fails(fn: () => unknown, error: string, description: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FederationError, String(err))
    assert.equal(err.error, error)
    if (typeof description === 'string') assert.ok(err.message.includes(description), err.message)
    else assert.match(err.message, description)
    return true
  })
}

describe('authorization_server/client_auth: inspectAssertion', () => {
  let key: TestKey
  before(async () => {
    key = await testKey()
  })
  const form = (jwt: string | undefined, extra: Record<string, string> = {}) =>
    new URLSearchParams({ ...(jwt !== undefined ? { client_assertion: jwt } : {}), client_assertion_type: ASSERTION_TYPE, ...extra })
  const make = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => assertion(key, { iss: CLIENT, aud: AS, now: NOW, claims, header })

  it('accepts a well-formed assertion and returns its client id, jti and times', async () => {
    const a = inspectAssertion(form(await make({ jti: 'j1' })), OPTIONS)
    assert.equal(a.clientId, CLIENT)
    assert.equal(a.jti, 'j1')
    assert.equal(a.exp - a.iat, 60)
    assert.equal(a.trustChain, undefined)
  })

  it('accepts aud as the token endpoint URL or as an array containing the issuer', async () => {
    assert.equal(inspectAssertion(form(await make({ aud: `${AS}/oauth/token` })), OPTIONS).clientId, CLIENT)
    assert.equal(inspectAssertion(form(await make({ aud: ['https://x.example', AS] })), OPTIONS).clientId, CLIENT)
  })

  it('passes a trust_chain header shaped as a chain on, its signatures unverified', async () => {
    const chain = ['eyJh.eyJi.c2ln', 'eyJj.eyJk.c2ln']
    assert.deepEqual(inspectAssertion(form(await make({}, { trust_chain: chain })), OPTIONS).trustChain, chain)
  })

  it('refuses a trust_chain header that is not an array of 2 to 12 compact JWS before any key or chain work', async () => {
    const jws = 'eyJh.eyJi.c2ln'
    for (const tc of ['x', ['a', 'b'], [jws], Array(13).fill(jws), [jws, 42], { 0: jws, 1: jws }, null]) {
      const jwt = await make({}, { trust_chain: tc })
      fails(() => inspectAssertion(form(jwt), OPTIONS), 'invalid_client', 'trust_chain header: must be a JSON array of 2 to 12 compact JWS')
    }
  })

  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
    ['whose sub differs from iss', { sub: 'https://other.example' }, {}, 'sub must equal iss'],
    ['whose iss is not an entity identifier', { iss: 'agent', sub: 'agent' }, {}, 'iss must be the client id'],
    ['whose aud is another server', { aud: 'https://other-as.example' }, {}, `aud must be ${AS}`],
    ['without jti', { jti: undefined }, {}, 'jti is required'],
    ['whose jti is too long', { jti: 'x'.repeat(257) }, {}, 'jti is required (at most 256 characters)'],
    ['without exp', { exp: undefined }, {}, 'iat and exp are required'],
    ['without iat', { iat: undefined }, {}, 'iat and exp are required'],
    ['that has expired (beyond the skew)', { iat: NOW - 200, exp: NOW - 61 }, {}, 'expired'],
    ['whose iat is in the future (beyond the skew)', { iat: NOW + 61, exp: NOW + 100 }, {}, 'iat is in the future'],
    ['whose nbf is in the future', { nbf: NOW + 120 }, {}, 'not valid yet'],
    ['that lives longer than assertion_max_lifetime', { exp: NOW + 301 }, {}, 'lifetime (exp - iat) exceeds 300 seconds'],
    ['whose typ names another kind of JWT', {}, { typ: 'at+jwt' }, 'typ "at+jwt" is not a client assertion type'],
  ]
  for (const [what, claims, header, description] of cases) {
    it(`refuses an assertion ${what}: invalid_client`, async () => {
      const jwt = await make(claims, header)
      fails(() => inspectAssertion(form(jwt), OPTIONS), 'invalid_client', description)
    })
  }

  it('accepts the client-authentication+jwt and JWT typ values', async () => {
    for (const typ of ['JWT', 'client-authentication+jwt']) assert.equal(inspectAssertion(form(await make({}, { typ })), OPTIONS).clientId, CLIENT)
  })

  it('refuses alg none and HMAC before anything else', async () => {
    for (const alg of ['none', 'HS256'] as const) {
      const jwt = await weakAssertion(alg, { iss: CLIENT, aud: AS, now: NOW })
      fails(() => inspectAssertion(form(jwt), OPTIONS), 'invalid_client', `alg "${alg}" is not allowed`)
    }
  })

  it('refuses a missing or wrong client_assertion_type, a missing assertion, a mismatching client_id, a non-JWS', async () => {
    fails(() => inspectAssertion(new URLSearchParams(), OPTIONS), 'invalid_client', 'client authentication is required')
    fails(() => inspectAssertion(new URLSearchParams({ client_assertion: 'x', client_assertion_type: 'urn:other' }), OPTIONS), 'invalid_client', `client_assertion_type must be ${ASSERTION_TYPE}`)
    fails(() => inspectAssertion(form(undefined), OPTIONS), 'invalid_client', 'client_assertion is required')
    fails(() => inspectAssertion(form('a.b'), OPTIONS), 'invalid_client', 'not a compact JWS')
    const jwt = await make()
    fails(() => inspectAssertion(form(jwt, { client_id: 'https://someone.example' }), OPTIONS), 'invalid_client', 'does not match the client_id parameter')
    fails(() => inspectAssertion(new URLSearchParams([['client_assertion', jwt], ['client_assertion', jwt], ['client_assertion_type', ASSERTION_TYPE]]), OPTIONS), 'invalid_request', 'must be given once')
  })
})

describe('authorization_server/tokens: scope and resource', () => {
  it('grants the requested scopes the metadata allows, every allowed one when none is asked for', () => {
    assert.deepEqual(grantedScopes('a b', 'a b c', undefined), ['a', 'b'])
    assert.deepEqual(grantedScopes('a x', 'a b c', undefined), ['a'])
    assert.deepEqual(grantedScopes(undefined, 'a b c', ['a', 'c']), ['a', 'c'])
    assert.deepEqual(grantedScopes(undefined, undefined, undefined), [])
    assert.deepEqual(grantedScopes('a a', 'a', undefined), ['a'])
  })

  it('refuses scopes outside the metadata or scopes_supported, and malformed scope: invalid_scope', () => {
    fails(() => grantedScopes('x', 'a b', undefined), 'invalid_scope', 'none of x is allowed for this client (allowed: a b)')
    fails(() => grantedScopes('b', 'a b', ['a']), 'invalid_scope', 'none of b is allowed')
    fails(() => grantedScopes('a', undefined, undefined), 'invalid_scope', 'allowed: none')
    fails(() => grantedScopes('a"b', 'a"b', undefined), 'invalid_scope', 'not a space-separated list of scope tokens')
    fails(() => grantedScopes(' ', 'a', undefined), 'invalid_scope', 'not a space-separated list')
  })

  it('defaults the resource to the only one served, and checks it otherwise: invalid_target', () => {
    const one = ['https://r.example/api']
    assert.equal(targetResource(resources(new URLSearchParams()), one), one[0])
    assert.equal(targetResource(resources(new URLSearchParams({ resource: one[0]! })), one), one[0])
    fails(() => targetResource(resources(new URLSearchParams()), [...one, 'https://s.example']), 'invalid_target', 'resource: required')
    fails(() => targetResource(resources(new URLSearchParams({ resource: 'https://x.example' })), one), 'invalid_target', 'is not a resource of this authorization server')
    fails(() => targetResource(resources(new URLSearchParams({ resource: 'not a uri' })), one), 'invalid_target', 'absolute URI')
    fails(() => targetResource(resources(new URLSearchParams({ resource: `${one[0]}#f` })), one), 'invalid_target', 'without fragment')
    fails(() => targetResource(resources(new URLSearchParams([['resource', one[0]!], ['resource', one[0]!]])), one), 'invalid_target', 'one resource per token request')
  })
})
