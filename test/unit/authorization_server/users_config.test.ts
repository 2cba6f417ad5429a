/** Configuration of the OP's users: users_file and upstream (resolved paths, the secret from the environment, refusals). */
import { strict as assert } from 'node:assert'
import { resolveConfig, checkConfigFile, ConfigError, type ConfigFile } from '../../../src/config/load.js'

const BASE: ConfigFile = { entity_id: 'https://op.example.com', authorization_server: { resources: ['https://r.example.com/api'] } }
const upstream = { issuer: 'https://login.example.com', client_id: 'anchorage' }

describe('authorization_server users configuration', () => {
  it('resolves users_file and private_key_file against the deployment directory, and fills upstream defaults', () => {
    const c = resolveConfig({ ...BASE, authorization_server: { ...BASE.authorization_server, users_file: 'users.json', upstream: { ...upstream, private_key_file: 'k.jwk' } } }, '/srv/op', {}, {})
    assert.equal(c.authorization_server!.users_file, '/srv/op/users.json')
    assert.deepEqual({ ...c.authorization_server!.upstream }, {
      issuer: 'https://login.example.com', client_id: 'anchorage', private_key_file: '/srv/op/k.jwk', scopes: ['openid', 'profile', 'email'], name: 'login.example.com',
    })
  })

  it('takes the client secret from ANCHORAGE_UPSTREAM_CLIENT_SECRET over the file', () => {
    const file = { ...BASE, authorization_server: { ...BASE.authorization_server, upstream: { ...upstream, client_secret: 'from-file' } } }
    assert.equal(resolveConfig(file, '/d', {}, {}).authorization_server!.upstream!.client_secret, 'from-file')
    assert.equal(resolveConfig(file, '/d', {}, { ANCHORAGE_UPSTREAM_CLIENT_SECRET: 'from-env' }).authorization_server!.upstream!.client_secret, 'from-env')
  })

  it('refuses an upstream without client authentication, with both kinds, or without openid', () => {
    const as = (u: Record<string, unknown>) => ({ ...BASE, authorization_server: { ...BASE.authorization_server, upstream: u } }) as unknown as ConfigFile
    assert.throws(() => resolveConfig(as(upstream), '/d', {}, {}), /client_secret .* or a private_key_file is required/)
    assert.throws(() => resolveConfig(as({ ...upstream, client_secret: 's', private_key_file: 'k' }), '/d', {}, {}), /exclude each other/)
    assert.throws(() => checkConfigFile(as({ ...upstream, client_secret: 's', scopes: ['profile'] })), ConfigError)
    assert.throws(() => checkConfigFile(as({ ...upstream, client_secret: 's', extra: 1 })), ConfigError)
    assert.throws(() => checkConfigFile({ ...BASE, authorization_server: { ...BASE.authorization_server, max_failed_logins: 0 } }), ConfigError)
  })
})
