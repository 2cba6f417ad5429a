/** Every problem of a configuration at once (issue 18): the file's, the environment's and the command line's, in one error. */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkConfigFile, loadConfig, ConfigError } from '../../../src/config/load.js'

const problemsOf = (fn: () => unknown): readonly string[] => {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.problems
  }
  assert.fail('no ConfigError')
}

describe('configuration: every problem at once', () => {
  it('lists every schema problem, with the closest property for an unknown one and one line per failed alternative', () => {
    const problems = problemsOf(() => checkConfigFile({
      entity_id: 'https://ta.example.org', servr: { port: 1 }, signing_alg: 'ES999', lifetimes: { entity_configuration: 'long' },
      log: { access: 7 }, admin: { listen: 'nowhere' },
    }))
    assert.deepEqual([...problems].sort(), [
      'admin.listen: must match pattern "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$"',
      'lifetimes.entity_configuration: must be integer',
      'log.access: must be boolean, or must be <= 1',
      'servr: unknown property (did you mean server?)',
      'signing_alg: must be one of "ES256", "ES384", "PS256", "RS256", "EdDSA"',
    ])
  })

  it('says one problem on one line, several as a list under the file', () => {
    assert.throws(() => checkConfigFile({ entity_id: 'https://ta.example.org', colour: 'blue' }, 'anchorage.json'), { message: 'anchorage.json: colour: unknown property' })
    assert.throws(() => checkConfigFile({ entity_id: 'https://ta.example.org', colour: 'blue', size: 1 }, 'anchorage.json'),
      { message: 'anchorage.json: 2 problems:\n  - colour: unknown property\n  - size: unknown property' })
  })

  it('joins the file\'s identifier problems with the environment\'s and the command line\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anchorage-config-'))
    try {
      await writeFile(join(dir, 'anchorage.json'), JSON.stringify({
        entity_id: 'https://ta.example.org', authority_hints: ['https://ta.example.org', 'http://ia.example.org'], admin: { listen: '127.0.0.1:8081', tls_cert: 'a.pem' },
      }))
      await assert.rejects(loadConfig(dir, { tls_cert: 'c.pem' }, { PORT: 'eighty', ANCHORAGE_KEK: 'short' }), (err: Error) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.problems.length, 6, err.message)
        assert.match(err.message, /anchorage\.json: 6 problems:\n/)
        for (const p of [/^authority_hints\[1\]: must be an https URL/, /^authority_hints: must not contain this entity's own id$/, /^PORT: not a port number: eighty$/,
          /^server\.tls_cert and server\.tls_key \(--tls-cert, --tls-key\) go together$/, /^ANCHORAGE_KEK is too short/, /^admin\.tls_cert and admin\.tls_key go together$/]) {
          assert.ok(err.problems.some((x) => p.test(x)), `${p} in ${err.message}`)
        }
        return true
      })
      // The environment's problem alone is named as it is, without the file.
      await writeFile(join(dir, 'anchorage.json'), JSON.stringify({ entity_id: 'https://ta.example.org' }))
      await assert.rejects(loadConfig(dir, {}, { PORT: 'eighty' }), { message: 'PORT: not a port number: eighty' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
