/** Where `serve` listens by default and what it warns about; `anchorage --version`; `anchorage jwt decode`. */
import { strict as assert } from 'node:assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SignJWT, generateKeyPair } from 'jose'
import { resolveConfig, type ConfigFile } from '../../../src/config/load.js'
import { listenerWarnings } from '../../../src/cli/serve.js'
import type { IO } from '../../../src/cli/args.js'
import { ROOT } from '../../support/cli.js'

const file = (entityId: string, extra: Partial<ConfigFile> = {}): ConfigFile => ({ entity_id: entityId, ...(entityId.startsWith('http:') ? { development: true } : {}), ...extra })

/**
 * main() imported the way the command loads its subcommands (import()): mocha may load this
 * file through require, and a static import would then give main.ts another copy of args.ts
 * (another UsageError class) than the jwt command it imports.
 */
const main = async (argv: string[], o: IO): Promise<number> => (await import('../../../src/cli/main.js')).main(argv, o)

function io(input = ''): IO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readFile: async () => input, env: {} }
}

describe('serve: default port and address', () => {
  it('listens on the entity id\'s port when nothing else says, else 8080', () => {
    assert.equal(resolveConfig(file('http://localhost:9000'), '/tmp', {}, {}).server.port, 9000)
    assert.equal(resolveConfig(file('https://ta.example.org'), '/tmp', {}, {}).server.port, 8080)
    assert.equal(resolveConfig(file('https://ta.example.org:8443'), '/tmp', {}, {}).server.port, 8443)
  })

  it('with no port written: 80 for http, 443 for https with TLS here, 8080 for https behind a TLS-terminating proxy', () => {
    assert.equal(resolveConfig(file('http://localhost'), '/tmp', {}, {}).server.port, 80)
    assert.equal(resolveConfig(file('https://ta.example.org'), '/tmp', { tls_cert: 'c.pem', tls_key: 'k.pem' }, {}).server.port, 443)
    assert.equal(resolveConfig(file('https://ta.example.org', { server: { tls_cert: 'c.pem', tls_key: 'k.pem' } }), '/tmp', {}, {}).server.port, 443)
    assert.equal(resolveConfig(file('https://ta.example.org'), '/tmp', {}, {}).server.port, 8080)
    assert.equal(resolveConfig(file('https://ta.example.org:8443'), '/tmp', { tls_cert: 'c.pem', tls_key: 'k.pem' }, {}).server.port, 8443)
    // Behind a proxy nothing disagrees; with TLS here (or http) the scheme's port is the entity id's.
    const tls = { tls_cert: 'c.pem', tls_key: 'k.pem' }
    assert.match(listenerWarnings(resolveConfig(file('https://ta.example.org'), '/tmp', tls, { PORT: '8443' }), tls, { PORT: '8443' }).join('\n'), /^PORT=8443 disagrees with the entity id https:\/\/ta\.example\.org: .* port 443.* without PORT the server listens on 443/)
    assert.match(listenerWarnings(resolveConfig(file('http://localhost'), '/tmp', {}, { PORT: '8080' }), {}, { PORT: '8080' }).join('\n'), /^PORT=8080 disagrees .* port 80,/)
  })

  it('warns when the admin plane is off loopback in plain HTTP; TLS on it needs both files and admin.listen', () => {
    const open = resolveConfig(file('https://ta.example.org', { admin: { listen: '10.0.0.5:8081' } }), '/tmp', {}, {})
    assert.match(listenerWarnings(open, {}, {}).join('\n'), /admin\.listen 10\.0\.0\.5:8081 is not a loopback address and the admin plane is plain HTTP: .*admin\.tls_cert/)
    const sealed = resolveConfig(file('https://ta.example.org', { admin: { listen: '10.0.0.5:8081', tls_cert: 'a.pem', tls_key: 'a.key' } }), '/tmp', {}, {})
    assert.deepEqual(listenerWarnings(sealed, {}, {}), [])
    assert.deepEqual([sealed.admin.tls_cert, sealed.admin.tls_key], ['a.pem', 'a.key'])
    assert.deepEqual(listenerWarnings(resolveConfig(file('https://ta.example.org', { admin: { listen: '127.0.0.1:8081' } }), '/tmp', {}, {}), {}, {}), [])
    const flags = resolveConfig(file('https://ta.example.org', { admin: { listen: '[::1]:8081' } }), '/tmp', { admin_tls_cert: 'b.pem', admin_tls_key: 'b.key' }, {})
    assert.deepEqual([flags.admin.tls_cert, flags.admin.tls_key], ['b.pem', 'b.key'])
    assert.throws(() => resolveConfig(file('https://ta.example.org', { admin: { listen: '127.0.0.1:8081', tls_cert: 'a.pem' } }), '/tmp', {}, {}), /admin\.tls_cert and admin\.tls_key go together/)
    assert.throws(() => resolveConfig(file('https://ta.example.org', { admin: { tls_cert: 'a.pem', tls_key: 'a.key' } }), '/tmp', {}, {}), /set admin\.listen too/)
  })

  it('server.port, then PORT, then --port take precedence, and each one that disagrees is warned about by name', () => {
    const c1 = resolveConfig(file('http://localhost:9000', { server: { port: 9100 } }), '/tmp', {}, {})
    assert.equal(c1.server.port, 9100)
    assert.match(listenerWarnings(c1, {}, {}).join('\n'), /^server\.port 9100 disagrees with the entity id http:\/\/localhost:9000: .* port 9000/)
    const c2 = resolveConfig(file('http://localhost:9000'), '/tmp', {}, { PORT: '9200' })
    assert.equal(c2.server.port, 9200)
    assert.match(listenerWarnings(c2, {}, { PORT: '9200' }).join('\n'), /^PORT=9200 disagrees .* without PORT the server listens on 9000/)
    const c3 = resolveConfig(file('http://localhost:9000'), '/tmp', { port: 9300 }, { PORT: '9200' })
    assert.equal(c3.server.port, 9300)
    assert.match(listenerWarnings(c3, { port: 9300 }, { PORT: '9200' }).join('\n'), /^--port 9300 disagrees/)
  })

  it('does not warn when the port agrees, is any free port (0), or the entity id names none (a proxy in front)', () => {
    assert.deepEqual(listenerWarnings(resolveConfig(file('http://localhost:9000'), '/tmp', {}, { PORT: '9000' }), {}, { PORT: '9000' }), [])
    assert.deepEqual(listenerWarnings(resolveConfig(file('http://localhost:9000'), '/tmp', { port: 0 }, {}), { port: 0 }, {}), [])
    assert.deepEqual(listenerWarnings(resolveConfig(file('https://ta.example.org'), '/tmp', {}, { PORT: '3000' }), {}, { PORT: '3000' }), [])
  })

  it('a development deployment listens on 127.0.0.1 unless server.host or --host says otherwise; production on every interface', () => {
    assert.equal(resolveConfig(file('http://localhost:8080'), '/tmp', {}, {}).server.host, '127.0.0.1')
    assert.equal(resolveConfig(file('http://localhost:8080'), '/tmp', { host: '0.0.0.0' }, {}).server.host, '0.0.0.0')
    assert.equal(resolveConfig(file('http://localhost:8080', { server: { host: '::' } }), '/tmp', {}, {}).server.host, '::')
    assert.equal(resolveConfig(file('https://ta.example.org'), '/tmp', {}, {}).server.host, '0.0.0.0')
  })

  it('warns when a development deployment on loopback has an entity id naming another host', () => {
    const c = resolveConfig(file('http://192.168.1.5:8080'), '/tmp', {}, {})
    assert.match(listenerWarnings(c, {}, {}).join('\n'), /listening on 127\.0\.0\.1 only, .*192\.168\.1\.5.*--host 0\.0\.0\.0/)
    assert.deepEqual(listenerWarnings(resolveConfig(file('http://127.0.0.1:8080'), '/tmp', {}, {}), {}, {}), [])
  })
})

describe('anchorage --version', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    const o = io()
    assert.equal(await main(['--version'], o), 0)
    assert.deepEqual(o.out, [version])
  })
})

describe('anchorage jwt decode', () => {
  it('prints header and payload as JSON and says on stderr that nothing was verified', async () => {
    const { privateKey } = await generateKeyPair('ES256')
    const jwt = await new SignJWT({ sub: 'https://rp.example.org', iat: 1_700_000_000, exp: 1_700_086_400 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'entity-statement+jwt' }).sign(privateKey)
    for (const argv of [['jwt', 'decode', jwt], ['jwt', 'decode', '-']]) {
      const o = io(`  ${jwt}\n`)
      assert.equal(await main(argv, o), 0, o.err.join('\n'))
      const decoded = JSON.parse(o.out.join('\n')) as { header: Record<string, unknown>; payload: Record<string, unknown> }
      assert.deepEqual(decoded.header, { alg: 'ES256', kid: 'k1', typ: 'entity-statement+jwt' })
      assert.equal(decoded.payload.sub, 'https://rp.example.org')
      assert.equal(o.err.join('\n'), 'anchorage: decoded only, the signature was NOT verified (alg ES256, kid k1, typ entity-statement+jwt; iat 2023-11-14T22:13:20Z, exp 2023-11-15T22:13:20Z)')
    }
  })

  it('refuses what is not a compact JWS with exit code 2 and a reason; control characters never reach the terminal', async () => {
    const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    for (const [input, reason] of [
      ['a.b', /not a compact JWT/], ['a.b.c.d.e', /encrypted JWT \(JWE/], ['e+J.x.y', /not a compact JWT/],
      [`${b([1])}.${b({})}.sig`, /header is not a JSON object/], [`${b({ alg: 'none' })}.bm90IGpzb24.`, /payload is not base64url-encoded JSON/],
    ] as const) {
      const o = io()
      assert.equal(await main(['jwt', 'decode', input], o), 2, `${input}: ${o.err.join('\n')}`)
      assert.match(o.err.join('\n'), reason)
    }
    const o = io()
    assert.equal(await main(['jwt', 'decode', `${b({ alg: 'ES256', kid: 'x\u001b[31my' })}.${b({})}.sig`], o), 0)
    assert.ok(!o.err.join('').includes('\u001b'), 'no escape sequence on stderr')
    assert.ok(o.out.join('').includes('\\u001b'), 'JSON escapes it on stdout')
    assert.equal(await main(['jwt', 'frob'], io()), 2)
  })

  it('refuses a payload nested 100,000 deep with exit code 2 and the depth bound, not a stack overflow', async () => {
    const b = (t: string) => Buffer.from(t).toString('base64url')
    const o = io()
    assert.equal(await main(['jwt', 'decode', `${b('{"alg":"ES256"}')}.${b('['.repeat(100_000) + ']'.repeat(100_000))}.sig`], o), 2)
    assert.match(o.err.join('\n'), /the payload: the JSON document nests deeper than \d+ levels/)
  })
})
