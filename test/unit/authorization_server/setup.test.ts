/**
 * Setting up the role: configuration (defaults, environment, command line), OAuth keys
 * kept apart from federation keys in one store, `anchorage init --authorization-server`
 * pinning anchors, the RFC 8414 metadata location, and which client metadata can be served.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { resolveConfig, checkConfigFile, ConfigError, type ConfigFile } from '../../../src/config/load.js'
import { Keystore } from '../../../src/crypto/keystore.js'
import { createEmbeddedStore } from '../../../src/storage/embedded.js'
import { authorizationServerInit, thumbprint } from '../../../src/cli/authorization_server_init.js'
import { metadataPath, metadataUrl } from '../../../src/authorization_server/well_known.js'
import { metadataProblem, grantTypes } from '../../../src/registration/client_metadata.js'
import { main } from '../../../src/cli/main.js'
import type { IO } from '../../../src/cli/args.js'
import type { Fetcher } from '../../../src/net/fetch.js'
import { testKey, signStatement } from '../../support/entity.js'

const BASE: ConfigFile = { entity_id: 'https://as.example.com', authorization_server: { resources: ['https://r.example.com/api'] } }

describe('authorization_server setup', () => {
  describe('configuration', () => {
    it('admits metadata document clients only when asked: off by default with the OpenID Provider role, on with the setting', () => {
      const op = (extra: Record<string, unknown>) => resolveConfig({ ...BASE, authorization_server: { ...BASE.authorization_server!, openid_provider: true, ...extra } }, '/tmp', {}, {}).authorization_server!
      assert.equal(op({}).client_id_metadata_documents, false)
      assert.equal(op({ client_id_metadata_documents: true }).client_id_metadata_documents, true)
    })
    it('applies the documented defaults when the section is present, and nothing when it is absent', () => {
      const c = resolveConfig(BASE, '/tmp', {}, {})
      assert.deepEqual(c.authorization_server, {
        enabled: true, resources: ['https://r.example.com/api'], access_token_lifetime: 300, assertion_max_lifetime: 300, trust_reevaluation: 300,
        statement_cache_ttl: 30, failure_cache_ttl: 10, max_failed_logins: 5, login_lockout_seconds: 300, login_tracked_names: 10_000,
        upstream_login_lifetime: 600,
        openid_provider: false, id_token_lifetime: 300, refresh_token_lifetime: 86_400, authorization_code_lifetime: 60, require_pkce: true, token_exchange_max_actors: 4,
        grant_sweep_seconds: 600, grant_sweep_batch: 100, password_hash_concurrency: 2, password_hash_queue: 64,
        client_id_metadata_documents: false, metadata_document_max_bytes: 5_120, metadata_document_cache_min: 60, metadata_document_cache_max: 3_600,
        id_token_signing_alg_values: ['RS256', 'ES256'],
      })
      assert.equal(resolveConfig({ entity_id: 'https://x.example.com' }, '/tmp', {}, {}).authorization_server, undefined)
    })

    it('dynamic_registration: the documented defaults; a status_endpoint only beside pinned jwks; cache bounds in order', async () => {
      const dr = (d: Record<string, unknown>) => resolveConfig({ ...BASE, authorization_server: { ...BASE.authorization_server!, dynamic_registration: d } }, '/tmp', {}, {}).authorization_server!.dynamic_registration
      assert.deepEqual(dr({}), {
        enabled: true, initial_access_token: false,
        jwks_uri_max_bytes: 32_768, jwks_uri_max_keys: 10, jwks_uri_cache_min: 60, jwks_uri_cache_max: 3_600, status_cache_ttl: 60,
      })
      assert.equal(dr({ enabled: false }), undefined)
      const key = (await testKey()).publicJwk
      const pinned = { issuer: 'https://hub.example.com', jwks: { keys: [key] }, status_endpoint: 'https://hub.example.com/software-statement-status' }
      assert.deepEqual(dr({ trusted_issuers: [pinned], status_cache_ttl: 30 })!.trusted_issuers, [pinned])
      const bad = (d: unknown) => () => checkConfigFile({ ...BASE, authorization_server: { ...BASE.authorization_server, dynamic_registration: d } })
      assert.throws(bad({ trusted_issuers: [{ issuer: 'https://hub.example.com', status_endpoint: 'https://hub.example.com/status' }] }), /trusted_issuers\.0.*jwks/)
      assert.throws(bad({ trusted_issuers: [{ ...pinned, status_endpoint: 'not a url' }] }), /trusted_issuers\.0\.status_endpoint/)
      assert.throws(bad({ trusted_issuers: [{ ...pinned, status_endpoint: 'ftp://hub.example.com/status' }] }), /trusted_issuers\.0\.status_endpoint/)
      assert.throws(bad({ jwks_uri_max_keys: 0 }), /jwks_uri_max_keys/)
      assert.throws(bad({ status_cache_ttl: -1 }), /status_cache_ttl/)
      assert.throws(() => dr({ jwks_uri_cache_min: 600, jwks_uri_cache_max: 60 }), /jwks_uri_cache_min: must not exceed jwks_uri_cache_max/)
    })

    it('signs ID tokens with RS256 and signing_alg by default, and refuses algorithms without RS256 (OpenID Connect Discovery 1.0 section 3)', () => {
      const algs = (file: ConfigFile) => resolveConfig(file, '/tmp', {}, {}).authorization_server!.id_token_signing_alg_values
      assert.deepEqual(algs({ ...BASE, signing_alg: 'PS256' }), ['RS256', 'PS256'])
      assert.deepEqual(algs({ ...BASE, signing_alg: 'RS256' }), ['RS256'])
      assert.deepEqual(algs({ ...BASE, authorization_server: { ...BASE.authorization_server, id_token_signing_alg_values: ['ES256', 'RS256'] } }), ['ES256', 'RS256'])
      const bad = (values: unknown) => () => checkConfigFile({ ...BASE, authorization_server: { ...BASE.authorization_server, id_token_signing_alg_values: values } })
      assert.throws(bad(['ES256']), /authorization_server\.id_token_signing_alg_values: must contain/)
      assert.throws(bad([]), /authorization_server\.id_token_signing_alg_values/)
      assert.throws(bad(['RS256', 'HS256']), /authorization_server\.id_token_signing_alg_values\.1/)
      assert.throws(bad(['RS256', 'RS256']), /authorization_server\.id_token_signing_alg_values/)
    })

    it('takes trust_reevaluation from ANCHORAGE_TRUST_REEVALUATION_SECONDS, and serve --trust-reevaluation over both', () => {
      const file = { ...BASE, authorization_server: { ...BASE.authorization_server, trust_reevaluation: 600 } }
      assert.equal(resolveConfig(file, '/tmp', {}, {}).authorization_server!.trust_reevaluation, 600)
      assert.equal(resolveConfig(file, '/tmp', {}, { ANCHORAGE_TRUST_REEVALUATION_SECONDS: '60' }).authorization_server!.trust_reevaluation, 60)
      assert.equal(resolveConfig(file, '/tmp', { trust_reevaluation: 5 }, { ANCHORAGE_TRUST_REEVALUATION_SECONDS: '60' }).authorization_server!.trust_reevaluation, 5)
      assert.throws(() => resolveConfig(file, '/tmp', {}, { ANCHORAGE_TRUST_REEVALUATION_SECONDS: 'soon' }), ConfigError)
    })

    it('refuses an enabled role without resources, and malformed values', () => {
      assert.throws(() => resolveConfig({ ...BASE, authorization_server: {} }, '/tmp', {}, {}), /at least one resource/)
      assert.equal(resolveConfig({ ...BASE, authorization_server: { enabled: false } }, '/tmp', {}, {}).authorization_server!.enabled, false)
      const bad = (as: unknown) => () => checkConfigFile({ ...BASE, authorization_server: as })
      assert.throws(bad({ resources: ['https://r.example.com/#frag'] }), /authorization_server\.resources\.0/)
      assert.throws(bad({ resources: ['https://r.example.com'], trust_reevaluation: 0 }), /trust_reevaluation/)
      assert.throws(bad({ resources: ['https://r.example.com'], lifetime: 1 }), /authorization_server\.lifetime: unknown property/)
      assert.throws(bad({ resources: ['https://r.example.com'], scopes_supported: ['a b'] }), /scopes_supported/)
    })
  })

  describe('keys', () => {
    it('keeps OAuth keys and federation keys in one store without mixing them', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'anchorage-keys-'))
      const clock = new ManualClock()
      const store = createEmbeddedStore({ dir, clock, logger: silentLogger })
      await store.open()
      try {
        const oauth = new Keystore({ store, clock, logger: silentLogger, alg: 'ES256', purpose: 'oauth' })
        await oauth.ensureKey()
        const fed = new Keystore({ store, clock, logger: silentLogger, alg: 'ES256' })
        // init's seed key is still stored although the store already holds an (OAuth) key.
        const seed = await testKey()
        await fed.seed([{ kid: seed.kid, alg: 'ES256', public_jwk: seed.publicJwk, sealed: { enc: 'none', jwk: seed.publicJwk }, created_at: clock.now() }])
        assert.deepEqual((await fed.jwks()).keys.map((k) => k.kid), [seed.kid])
        const oauthKids = (await oauth.jwks()).keys.map((k) => k.kid)
        assert.equal(oauthKids.length, 1)
        assert.ok(!oauthKids.includes(seed.kid))
        assert.equal((await oauth.signingKey()).kid, oauthKids[0])
        assert.deepEqual((await fed.list()).map((k) => k.kid), [seed.kid])
        assert.equal(await store.count('keys'), 2)
      } finally {
        await store.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  })

  describe('anchorage init --authorization-server', () => {
    it('pins an anchor fetched now and prints RFC 7638 thumbprints', async () => {
      const key = await testKey()
      const now = Math.floor(Date.now() / 1000)
      const ec = await signStatement({ iss: 'https://ta.example.com', sub: 'https://ta.example.com', iat: now, exp: now + 600, jwks: { keys: [key.publicJwk] } }, key)
      const asked: string[] = []
      const fetcher: Fetcher = {
        get: async (url) => (asked.push(url), { status: 200, contentType: 'application/entity-statement+jwt', body: ec, url }),
        post: () => Promise.reject(new Error('unused')),
      }
      const r = await authorizationServerInit({ anchors: ['https://ta.example.com'], jwksFiles: [], resources: ['https://r.example.com'], enabled: true, readFile: async () => '', development: false, fetcher })
      assert.deepEqual(asked, ['https://ta.example.com/.well-known/openid-federation'])
      assert.deepEqual(r.extra.trust_anchors, [{ entity_id: 'https://ta.example.com', jwks: { keys: [key.publicJwk] } }])
      assert.deepEqual(r.extra.authorization_server, { enabled: true, resources: ['https://r.example.com'] })
      assert.ok(r.lines[0]!.includes(await calculateJwkThumbprint(key.publicJwk)))
      assert.equal(thumbprint(key.publicJwk), await calculateJwkThumbprint(key.publicJwk))
      const rsa = await testKey('RS256')
      assert.equal(thumbprint(rsa.publicJwk), await calculateJwkThumbprint(rsa.publicJwk))
    })

    it('refuses what cannot be pinned or served', async () => {
      const o = { anchors: ['https://ta.example.com'], jwksFiles: [], resources: ['https://r.example.com'], enabled: true, readFile: async () => '{"keys":[]}', development: false }
      await assert.rejects(authorizationServerInit({ ...o, jwksFiles: ['a', 'b'] }), /one per --trust-anchor/)
      await assert.rejects(authorizationServerInit({ ...o, resources: [] }), /at least one --resource/)
      await assert.rejects(authorizationServerInit({ ...o, anchors: [] }), /at least one --trust-anchor/)
      await assert.rejects(authorizationServerInit({ ...o, jwksFiles: ['f'] }), /not a public JWK Set/)
      const bad: Fetcher = { get: async (url) => ({ status: 200, contentType: 'application/entity-statement+jwt', body: 'x.y.z', url }), post: () => Promise.reject(new Error('unused')) }
      await assert.rejects(authorizationServerInit({ ...o, fetcher: bad }), /--trust-anchor https:\/\/ta\.example\.com: /)
    })

    it('writes trust_anchors and authorization_server into anchorage.json (keys from a file)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'anchorage-init-'))
      const key = await testKey()
      const out: string[] = []
      const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: async (p) => (p === 'ta.jwks' ? JSON.stringify({ keys: [key.publicJwk] }) : readFile(p, 'utf8')), env: {} }
      try {
        const code = await main(['init', '--dir', join(dir, 'd'), '--entity-id', 'https://as.example.com', '--authorization-server',
          '--trust-anchor', 'https://ta.example.com', '--trust-anchor-jwks', 'ta.jwks', '--resource', 'https://r.example.com/api'], io)
        assert.equal(code, 0, out.join('\n'))
        const cfg = JSON.parse(await readFile(join(dir, 'd', 'anchorage.json'), 'utf8')) as ConfigFile
        assert.deepEqual(cfg.trust_anchors, [{ entity_id: 'https://ta.example.com', jwks: { keys: [key.publicJwk] } }])
        assert.deepEqual(cfg.authorization_server, { enabled: true, resources: ['https://r.example.com/api'] })
        assert.ok(out.some((l) => l.includes('keys from file') && l.includes(key.kid)))
        assert.equal(await main(['init', '--dir', join(dir, 'e'), '--entity-id', 'https://as.example.com', '--authorization-server', '--trust-anchor-jwks', 'x'], io), 2)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  })

  describe('metadata', () => {
    it('places RFC 8414 metadata between the host and the issuer path', () => {
      assert.equal(metadataPath('https://as.example.com'), '/.well-known/oauth-authorization-server')
      assert.equal(metadataPath('https://as.example.com/'), '/.well-known/oauth-authorization-server')
      assert.equal(metadataUrl('https://example.com/tenant/as'), 'https://example.com/.well-known/oauth-authorization-server/tenant/as')
    })

    it('says why client metadata cannot be served (RFC 7591 error codes)', () => {
      const jwks = { keys: [{ kty: 'EC' }] }
      assert.equal(metadataProblem({ jwks }, 'oauth_client'), undefined)
      assert.deepEqual(metadataProblem({}, 'oauth_client')?.[0], 'invalid_client_metadata')
      assert.match(metadataProblem({ jwks, jwks_uri: 'https://x' }, 'oauth_client')![1], /must not both be present/)
      assert.match(metadataProblem({ jwks, token_endpoint_auth_method: 'none' }, 'oauth_client')![1], /only private_key_jwt/)
      assert.match(metadataProblem({ jwks, scope: ['a'] }, 'oauth_client')![1], /scope: must be a space-separated string/)
      assert.deepEqual(metadataProblem({ jwks, redirect_uris: ['/relative'] }, 'openid_relying_party')?.[0], 'invalid_redirect_uri')
      assert.deepEqual(grantTypes({}), ['authorization_code'])
    })
  })
})
