/**
 * The logger (src/logger.ts): levels in any case, and credentials redacted wherever they
 * could be printed: fields named like one at any depth, and credentials inside strings.
 */
import { strict as assert } from 'node:assert'
import { createLogger, logLevel, redact, REDACTED } from '../../src/logger.js'
import { resolveConfig } from '../../src/config/load.js'

const SECRET = 'S3cr3tV4lue0123456789'

function lines(level: string, f: (l: ReturnType<typeof createLogger>) => void): string[] {
  const out: string[] = []
  f(createLogger({ level, write: (l) => out.push(l) }))
  return out
}

describe('logger', () => {
  it('reads levels in any case', () => {
    assert.equal(logLevel('DEBUG'), 'debug')
    assert.equal(logLevel('Warn'), 'warn')
    assert.equal(logLevel('verbose'), undefined)
    assert.equal(lines('WARN', (l) => { l.info('no'); l.warn('yes') }).length, 1)
    assert.equal(lines('Debug', (l) => l.debug('yes')).length, 1)
  })

  it('takes log_level in any case from the configuration file and ANCHORAGE_LOG_LEVEL', () => {
    const file = { entity_id: 'http://127.0.0.1:1', development: true, log_level: 'DEBUG' }
    assert.equal(resolveConfig(file, '/tmp', {}, {}).log_level, 'debug')
    assert.equal(resolveConfig(file, '/tmp', {}, { ANCHORAGE_LOG_LEVEL: 'ERROR' }).log_level, 'error')
    assert.equal(resolveConfig({ ...file, log_level: 'Warn' }, '/tmp', {}, { ANCHORAGE_LOG_LEVEL: 'nonsense' }).log_level, 'warn')
    assert.equal(resolveConfig({ entity_id: file.entity_id, development: true }, '/tmp', {}, {}).log.access, 0)
    assert.equal(resolveConfig({ ...file, log: { access: true } }, '/tmp', {}, {}).log.access, 1)
    assert.equal(resolveConfig({ ...file, log: { access: 0.25 } }, '/tmp', {}, {}).log.access, 0.25)
  })

  it('redacts credential fields at any depth, in base fields too', () => {
    const out = lines('debug', (l) =>
      l.child({ client_secret: SECRET }).info('m', {
        headers: { Authorization: `Bearer ${SECRET}`, cookie: `sid=${SECRET}`, 'x-api-key': SECRET },
        nested: [{ password: SECRET, refresh_token: SECRET, token: SECRET }],
        keep: 'visible',
      }),
    )
    assert.equal(out.length, 1)
    assert.ok(!out[0]!.includes(SECRET), out[0])
    const parsed = JSON.parse(out[0]!)
    assert.equal(parsed.keep, 'visible')
    assert.equal(parsed.client_secret, REDACTED)
    assert.equal(parsed.headers.Authorization, REDACTED)
    assert.equal(parsed.nested[0].password, REDACTED)
  })

  it('redacts credentials inside strings: messages, URLs, error messages, PEM keys', () => {
    const out = lines('debug', (l) => {
      l.warn(`refused Authorization: Bearer ${SECRET}`)
      l.info('url', { url: `https://as.example.org/cb?state=1&code=${SECRET}&x=2`, err: new Error(`Basic ${SECRET}`) })
      l.error('k', { detail: `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----` })
    })
    for (const line of out) assert.ok(!line.includes(SECRET), line)
    assert.match(out[1]!, /state=1&code=\[redacted\]&x=2/)
  })

  it('keeps a field named __proto__ a field, and bounds depth', () => {
    const hostile = JSON.parse(`{"__proto__":{"password":"${SECRET}"}}`) as unknown
    const r = redact({ a: hostile }, 0) as Record<string, Record<string, unknown>>
    assert.equal(JSON.stringify(r), '{"a":{"__proto__":{"password":"[redacted]"}}}')
    let deep: unknown = 'x'
    for (let i = 0; i < 50; i++) deep = { d: deep }
    assert.ok(JSON.stringify(redact(deep, 0)).includes('[depth]'))
  })
})
