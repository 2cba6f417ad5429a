/**
 * Topology: TA (Anchorage on its own port) issuing software statements through the admin
 * API and the CLI, on the embedded store and on MongoDB. Statements verify with the keys the
 * TA publishes, and verifySoftwareStatement refuses what is expired, revoked, unknown,
 * wrongly typed, forged or from an untrusted issuer.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet, SignJWT, decodeJwt, type JSONWebKeySet } from 'jose'
import { startEntity, testKey, decode, type TestEntity } from '../support/entity.js'
import { mongoUriForTests } from '../support/mongo_server.js'
import { cli } from '../support/cli.js'
import { SoftwareStatements } from '../../src/software_statements/service.js'
import { verifySoftwareStatement, SoftwareStatementError } from '../../src/software_statements/verify.js'
import { signJwt } from '../../src/crypto/jwt.js'

const REDIRECT = 'https://partner.example.com/callback'

function suite(name: string, storeUri: () => Promise<string | undefined>) {
  describe(`software statements (${name} store)`, function () {
    let ta: TestEntity
    let jwks: JSONWebKeySet
    let clientJwks: { keys: Array<Record<string, unknown>> }
    let service: SoftwareStatements

    before(async function () {
      const uri = await storeUri()
      if (uri === '') return this.skip()
      ta = await startEntity({ config: { ...(uri ? { store: uri } : {}), software_statements: { default_lifetime: 3_600, max_lifetime: 86_400 } } })
      jwks = decode(await (await ta.get('/.well-known/openid-federation')).text()).payload.jwks
      clientJwks = { keys: [(await testKey()).publicJwk] }
      service = new SoftwareStatements(ta.federation)
    })
    after(() => ta?.stop())

    const issue = async (body: Record<string, unknown>) => {
      const r = await ta.admin('POST', '/admin/software-statements', body)
      assert.equal(r.status, 201, JSON.stringify(r.body))
      return r.body as { software_statement: string; jti: string; exp: number; iat: number }
    }
    const refusal = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p
      } catch (err) {
        if (err instanceof SoftwareStatementError) return err.reason
        throw err
      }
      assert.fail('verification passed')
    }

    it('issues a typed statement signed with the federation key, with the vetted metadata', async () => {
      const out = await issue({ software_id: 'partner-crm', client_name: 'Partner CRM', jwks: clientJwks, scope: 'read write', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] })
      const { payload, protectedHeader } = await jwtVerify(out.software_statement, createLocalJWKSet(jwks), { typ: 'software-statement+jwt', currentDate: new Date(ta.clock.now() * 1000) })
      assert.equal(protectedHeader.typ, 'software-statement+jwt')
      assert.equal(protectedHeader.kid, jwks.keys[0]!.kid)
      assert.equal(payload.iss, ta.entityId)
      assert.equal(payload.sub, 'partner-crm')
      assert.equal(payload.software_id, 'partner-crm')
      assert.equal(payload.client_name, 'Partner CRM')
      assert.deepEqual(payload.jwks, clientJwks)
      assert.deepEqual(payload.grant_types, ['authorization_code', 'refresh_token'])
      assert.deepEqual(payload.redirect_uris, [REDIRECT])
      assert.equal(payload.scope, 'read write')
      assert.equal(payload.iat, ta.clock.now())
      assert.equal(payload.exp, ta.clock.now() + 3_600, 'software_statements.default_lifetime')
      assert.equal(payload.jti, out.jti)
      const claims = await service.verify(out.software_statement)
      assert.equal(claims.sub, 'partner-crm')
    })

    it('defaults grant_types to client_credentials without redirect URIs, and honours lifetime', async () => {
      const out = await issue({ software_id: 'batch-agent', client_name: 'Batch', jwks: clientJwks, lifetime: 600 })
      const p = decodeJwt(out.software_statement)
      assert.deepEqual(p.grant_types, ['client_credentials'])
      assert.equal(p.exp, (p.iat as number) + 600)
      assert.equal(p.redirect_uris, undefined)
    })

    it('verifies against pinned keys without records, and refuses an untrusted issuer', async () => {
      const out = await issue({ software_id: 'pinned', client_name: 'Pinned', jwks: clientJwks })
      const claims = await verifySoftwareStatement(out.software_statement, { trustedIssuers: [{ iss: ta.entityId, jwks }], clock: ta.clock })
      assert.equal(claims.jti, out.jti)
      assert.equal(await refusal(verifySoftwareStatement(out.software_statement, { trustedIssuers: [{ iss: 'https://other.example.org', jwks }], clock: ta.clock })), 'untrusted_issuer')
      // A lookup answering for another issuer is not trust.
      assert.equal(await refusal(verifySoftwareStatement(out.software_statement, { trustedIssuers: async () => ({ iss: 'https://other.example.org', jwks }), clock: ta.clock })), 'untrusted_issuer')
    })

    it('refuses a forged signature, a wrong typ, an unknown jti and a replayed jti with other content', async () => {
      const out = await issue({ software_id: 'victim', client_name: 'Victim', jwks: clientJwks })
      const claims = decodeJwt(out.software_statement)
      const kid = jwks.keys[0]!.kid!
      const attacker = await testKey()
      const forged = await new SignJWT({ ...claims, scope: 'admin' }).setProtectedHeader({ alg: 'ES256', kid, typ: 'software-statement+jwt' }).sign(attacker.privateKey)
      assert.equal(await refusal(service.verify(forged)), 'signature')
      const key = await ta.federation.keystore.signingKey()
      assert.equal(await refusal(service.verify(await signJwt(claims, key, 'JWT'))), 'typ')
      assert.equal(await refusal(service.verify(await signJwt(claims, key, 'entity-statement+jwt'))), 'typ')
      const unknown = await signJwt({ ...claims, jti: 'never-issued' }, key, 'software-statement+jwt')
      assert.equal(await refusal(service.verify(unknown)), 'unknown')
      const replay = await signJwt({ ...claims, scope: 'admin' }, key, 'software-statement+jwt')
      assert.equal(await refusal(service.verify(replay)), 'unknown', 'the jti is ours, the token is not')
      assert.equal(await refusal(service.verify('a.b')), 'malformed')
      assert.equal(await refusal(service.verify(42)), 'malformed')
      const noSub = await signJwt({ ...claims, sub: 'someone-else' }, key, 'software-statement+jwt')
      assert.equal(await refusal(verifySoftwareStatement(noSub, { trustedIssuers: [{ iss: ta.entityId, jwks }], clock: ta.clock })), 'claims')
    })

    it('refuses an expired statement (beyond the skew)', async () => {
      const out = await issue({ software_id: 'short', client_name: 'Short', jwks: clientJwks, lifetime: 60 })
      await service.verify(out.software_statement)
      ta.clock.advance(60 + 61)
      assert.equal(await refusal(service.verify(out.software_statement)), 'expired')
      const listed = await ta.admin('GET', '/admin/software-statements?software_id=short')
      assert.equal(listed.body.items[0].status, 'expired')
    })

    it('revokes (audited, idempotent), lists by status and pages', async () => {
      const a = await issue({ software_id: 'rev', client_name: 'Rev', jwks: clientJwks })
      await service.verify(a.software_statement)
      const r = await ta.admin('POST', '/admin/software-statements/revoke', { jti: a.jti, reason: 'contract ended' })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.status, 'revoked')
      assert.equal(r.body.reason, 'contract ended')
      assert.equal(await refusal(service.verify(a.software_statement)), 'revoked')
      assert.equal((await ta.admin('POST', '/admin/software-statements/revoke', { jti: a.jti })).status, 200)
      const missing = await ta.admin('POST', '/admin/software-statements/revoke', { jti: 'nope' })
      assert.equal(missing.status, 404)
      assert.equal(missing.body.error, 'not_found')

      const audit = await ta.admin('GET', '/admin/audit?action=software_statement.revoke')
      const events = audit.body.events as Array<{ outcome: string; subject: string; detail: { jti: string } }>
      assert.equal(events.filter((e) => e.outcome === 'success' && e.detail.jti === a.jti).length, 1, 'one revocation event')
      assert.ok(events.some((e) => e.outcome === 'failure' && e.detail.jti === 'nope'))
      const issued = await ta.admin('GET', '/admin/audit?action=software_statement.issue&subject=rev')
      assert.equal(issued.body.events.length, 1)
      assert.equal(issued.body.events[0].detail.jti, a.jti)

      const revoked = await ta.admin('GET', '/admin/software-statements?status=revoked')
      assert.deepEqual(revoked.body.items.map((i: any) => i.jti), [a.jti])
      const seen: string[] = []
      let after: string | undefined
      for (;;) {
        const page = await ta.admin('GET', `/admin/software-statements?limit=2${after ? `&after=${after}` : ''}`)
        assert.equal(page.status, 200)
        assert.ok(page.body.items.length <= 2)
        seen.push(...page.body.items.map((i: any) => i.jti))
        if (!page.body.next) break
        after = page.body.next
      }
      assert.equal(seen.length, new Set(seen).size)
      assert.equal(seen.length, (await ta.admin('GET', '/admin/software-statements')).body.items.length)
      assert.equal((await ta.admin('GET', '/admin/software-statements?status=bogus')).status, 400)
    })

    const bad: Array<[string, () => unknown, string]> = [
      ['no software_id', () => ({ client_name: 'x' }), 'software_id: is required'],
      ['an unknown property', () => ({ software_id: 'x', client_name: 'x', colour: 1 }), 'colour: unknown property'],
      ['a __proto__ member', () => JSON.parse('{"software_id":"x","client_name":"x","__proto__":{"admin":true}}'), '__proto__: unknown property'],
      ['a private key in jwks', () => ({ software_id: 'x', client_name: 'x', jwks: { keys: [{ ...clientJwks.keys[0], d: 'AAAA' }] } }), 'jwks.keys[0].d: private key members are not allowed'],
      ['a symmetric key in jwks', () => ({ software_id: 'x', client_name: 'x', jwks: { keys: [{ kty: 'oct', kid: 'k', k: 'AAAA' }] } }), 'jwks.keys[0].k: private key members are not allowed'],
      ['an EC point off its curve', () => ({ software_id: 'x', client_name: 'x', jwks: { keys: [{ ...clientJwks.keys[0], y: clientJwks.keys[0]!.x }] } }), 'jwks.keys[0]: not a valid EC P-256 public key'],
      ['jwks and jwks_uri', () => ({ software_id: 'x', client_name: 'x', jwks: clientJwks, jwks_uri: 'https://p.example.com/jwks' }), 'jwks_uri: must not be given with jwks (RFC 7591 section 2)'],
      ['an http jwks_uri', () => ({ software_id: 'x', client_name: 'x', jwks_uri: 'http://p.example.com/jwks' }), 'jwks_uri: must match pattern'],
      ['an unknown grant type', () => ({ software_id: 'x', client_name: 'x', grant_types: ['password'] }), 'grant_types[0]: must be one of "authorization_code"'],
      ['an http redirect URI off loopback', () => ({ software_id: 'x', client_name: 'x', redirect_uris: ['http://p.example.com/cb'] }), 'redirect_uris[0]: must be https, or http on a loopback IP literal (RFC 8252 section 7.3)'],
      ['http://localhost (not an IP literal)', () => ({ software_id: 'x', client_name: 'x', redirect_uris: ['http://localhost:1234/cb'] }), 'redirect_uris[0]: must be https'],
      ['a redirect URI with a fragment', () => ({ software_id: 'x', client_name: 'x', redirect_uris: ['https://p.example.com/cb#x'] }), 'redirect_uris[0]: must not contain a fragment'],
      ['redirect URIs without authorization_code', () => ({ software_id: 'x', client_name: 'x', grant_types: ['client_credentials'], redirect_uris: [REDIRECT] }), 'redirect_uris: only with the authorization_code grant type'],
      ['authorization_code without redirect URIs', () => ({ software_id: 'x', client_name: 'x', grant_types: ['authorization_code'] }), 'redirect_uris: is required with the authorization_code grant type'],
      ['a lifetime over max_lifetime', () => ({ software_id: 'x', client_name: 'x', lifetime: 86_401 }), 'lifetime: must be <= 86400 (software_statements.max_lifetime)'],
      ['a scope with a quote', () => ({ software_id: 'x', client_name: 'x', scope: 'a "b' }), 'scope: must match pattern'],
      ['a software_id with white space', () => ({ software_id: 'a b', client_name: 'x' }), 'software_id: must match pattern'],
      ['an array body', () => [], '(top level): must be object'],
    ]
    for (const [what, body, description] of bad) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        const r = await ta.admin('POST', '/admin/software-statements', body())
        assert.equal(r.status, 400, JSON.stringify(r.body))
        assert.equal(r.body.error, 'invalid_request')
        assert.ok(String(r.body.error_description).startsWith(description), r.body.error_description)
      })
    }

    it('accepts http redirect URIs on loopback IP literals (native apps)', async () => {
      const out = await issue({ software_id: 'native', client_name: 'Native', redirect_uris: ['http://127.0.0.1/cb', 'http://[::1]:8080/cb'] })
      assert.deepEqual(decodeJwt(out.software_statement).grant_types, ['authorization_code'])
    })

    it('answers 413 for a huge body and 401 without the admin token, issuing nothing', async () => {
      const before = (await ta.admin('GET', '/admin/software-statements?limit=1000')).body.items.length
      const huge = await ta.admin('POST', '/admin/software-statements', JSON.stringify({ software_id: 'x', client_name: 'x'.repeat(70_000) }))
      assert.equal(huge.status, 413)
      const res = await fetch(`${ta.entityId}/admin/software-statements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ software_id: 'x', client_name: 'x' }) })
      assert.equal(res.status, 401)
      assert.equal((await ta.admin('GET', '/admin/software-statements?limit=1000')).body.items.length, before)
    })
  })
}

suite('embedded', async () => undefined)
suite('MongoDB', async () => (await mongoUriForTests())?.uri ?? '')

describe('software statements: CLI', function () {
  // Six CLI processes, each starting Node and loading the CLI: slow on a loaded machine (as cli.test.ts).
  this.timeout(60_000)
  let ta: TestEntity
  before(async () => {
    ta = await startEntity()
  })
  after(() => ta?.stop())

  it('issues, lists and revokes through anchorage software-statement', async () => {
    const key = await testKey()
    const { writeFile } = await import('node:fs/promises')
    const file = `${ta.dir}/client.jwks.json`
    await writeFile(file, JSON.stringify({ keys: [key.publicJwk] }))
    const conn = ['--url', ta.entityId, `--token=${ta.token}`]
    const issued = await cli(['software-statement', 'issue', ...conn, '--software-id', 'cli-partner', '--client-name', 'CLI Partner', '--jwks', file, '--grant-type', 'client_credentials', '--scope', 'read'])
    assert.equal(issued.code, 0, issued.stderr)
    const jwt = issued.stdout.trim()
    const claims = await new SoftwareStatements(ta.federation).verify(jwt)
    assert.equal(claims.client_name, 'CLI Partner')
    assert.deepEqual(claims.grant_types, ['client_credentials'])

    const listed = await cli(['software-statement', 'list', ...conn])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, new RegExp(`^active +${claims.jti} cli-partner exp=${claims.exp}$`, 'm'))

    const revoked = await cli(['software-statement', 'revoke', claims.jti, ...conn, '--reason', 'test'])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.equal(revoked.stdout.trim(), `revoked ${claims.jti} (cli-partner)`)
    const json = await cli(['software-statement', 'list', ...conn, '--status', 'revoked', '--json'])
    assert.deepEqual(JSON.parse(json.stdout).items.map((i: any) => i.jti), [claims.jti])

    const bad = await cli(['software-statement', 'issue', ...conn, '--software-id', 'x', '--client-name', 'x', '--redirect-uri', 'http://evil.example/cb'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /HTTP 400 invalid_request: redirect_uris\[0\]/)
    const usage = await cli(['software-statement', 'issue', ...conn, '--client-name', 'x'])
    assert.equal(usage.code, 2)
  })
})
