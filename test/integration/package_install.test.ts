/**
 * The package as an operator gets it: `npm pack` on a source checkout without dist/ (the
 * prepack script builds it), `npm install -g` of the tarball into a temporary prefix, then
 * the `anchorage` command from PATH, outside the repository: --version, init, serve (on the
 * entity id's port, no --port) and the signed entity configuration fetched and verified,
 * then read back with `anchorage jwt decode`.
 *
 * The install resolves the dependencies at a registry on 127.0.0.1 that serves the
 * lockfile's versions from the npm cache (test/support/local_registry.ts): no network,
 * and it fails when `npm ci` has not put a dependency in the cache, rather than skipping.
 *
 * Also: the command of a checkout that was never built says so instead of a stack trace,
 * and `npm start`'s build step (bin/build.mjs --if-changed) builds only when a source
 * changed.
 */
import { strict as assert } from 'node:assert'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { cp, mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, symlink, writeFile, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { ROOT } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { startLocalRegistry, type LocalRegistry } from '../support/local_registry.js'

const run = promisify(execFile)

/** Not copied into the checkout that is packed: what a fresh clone does not have, and what packing never reads. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'federation', 'test', 'bench', '.bench-tmp'])

/** The environment of the npm children: none of the npm_* settings of the `npm test` running this. */
function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra }
}

async function npmCacheDir(): Promise<string> {
  if (process.env.npm_config_cache) return process.env.npm_config_cache
  return (await run('npm', ['config', 'get', 'cache'], { env: npmEnv() })).stdout.trim()
}

describe('package: npm pack, a global install and the anchorage command', function () {
  this.timeout(300_000)
  let tmp: string
  let checkout: string
  let prefix: string
  let packed: { filename: string; version: string; files: Array<{ path: string }> }
  let packOutput: string
  let registry: LocalRegistry | undefined
  /** PATH with the install's bin/ first (and this node, which `#!/usr/bin/env node` finds). */
  let env: NodeJS.ProcessEnv

  before(async () => {
    tmp = await realpath(await mkdtemp(join(tmpdir(), 'anchorage-package-')))
    checkout = join(tmp, 'checkout')
    prefix = join(tmp, 'prefix')
    await mkdir(checkout)
    for (const name of await readdir(ROOT)) {
      if (NOT_COPIED.has(name) || name.endsWith('.tgz')) continue
      await cp(join(ROOT, name), join(checkout, name), { recursive: true })
    }
    await symlink(join(ROOT, 'node_modules'), join(checkout, 'node_modules'))
    // An empty user configuration: no registry, scope or proxy setting of this machine applies.
    const userconfig = join(tmp, 'npmrc')
    await writeFile(userconfig, '')
    const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp, '--userconfig', userconfig], { cwd: checkout, env: npmEnv(), maxBuffer: 16 << 20 })
    packOutput = pack.stdout + pack.stderr
    const json = pack.stdout.slice(pack.stdout.indexOf('[\n'))
    packed = (JSON.parse(json) as Array<typeof packed>)[0]!
    registry = await startLocalRegistry(join(ROOT, 'package-lock.json'), await npmCacheDir())
    try {
      await run('npm', ['install', '--global', '--prefix', prefix, '--registry', registry.url, '--cache', join(tmp, 'npm-cache'),
        '--userconfig', userconfig, '--no-audit', '--no-fund', join(tmp, packed.filename)], { cwd: tmp, env: npmEnv(), maxBuffer: 16 << 20 })
    } catch (err) {
      const missing = registry.missing.length ? `\nnot in the npm cache (run npm ci): ${registry.missing.join(', ')}` : ''
      throw new Error(`npm install -g of the tarball failed: ${(err as Error).message}${missing}`)
    }
    env = { ...npmEnv(), PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH].join(delimiter), ANCHORAGE_LOG_LEVEL: 'warn' }
    delete env.PORT
    delete env.ANCHORAGE_STORE
    delete env.ANCHORAGE_ADMIN_TOKEN
    delete env.ANCHORAGE_KEK
  })
  after(async () => {
    await registry?.close()
    if (tmp) await rm(tmp, { recursive: true, force: true })
  })

  it('npm pack builds dist/ (prepack) and packs the command, the library, the schemas, the docs and the licence, nothing else', async () => {
    assert.match(packOutput, /compiling src\/ with TypeScript/, 'the build says what it is doing')
    const files = new Set(packed.files.map((f) => f.path))
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; main: string; types: string }
    assert.equal(packed.version, manifest.version)
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/anchorage.js', 'dist/cli/run.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts',
      'schemas/config.schema.json', 'docs/operations.md', manifest.bin.anchorage!.replace(/^\.\//, ''), manifest.main.replace(/^\.\//, ''), manifest.types.replace(/^\.\//, '')]) {
      assert.ok(files.has(f), `the tarball lacks ${f}`)
    }
    for (const f of files) {
      assert.ok(/^(package\.json|README\.md|LICENSE|bin\/|dist\/|schemas\/|docs\/)/.test(f), `the tarball should not hold ${f}`)
      assert.ok((!f.endsWith('.map') && !f.endsWith('.ts')) || f.endsWith('.d.ts'), `the tarball should not hold ${f}`)
      assert.ok(!f.endsWith('.source-digest'), 'the build stamp stays out of the tarball')
    }
  })

  it('installs globally: `anchorage --version` from PATH runs the installed copy and prints the version', async () => {
    const bin = await realpath(join(prefix, 'bin', 'anchorage'))
    assert.equal(bin, join(prefix, 'lib', 'node_modules', 'anchorage', 'bin', 'anchorage.js'))
    const { stdout } = await run('anchorage', ['--version'], { cwd: tmp, env })
    assert.equal(stdout.trim(), packed.version)
    // Its own dependencies, not the repository's: nothing of the checkout is reachable from the prefix.
    await stat(join(prefix, 'lib', 'node_modules', 'anchorage', 'node_modules', 'koa', 'package.json'))
    await assert.rejects(stat(join(prefix, 'lib', 'node_modules', 'anchorage', 'node_modules', 'typescript')), 'no development dependency is installed')
  })

  it('anchorage init, then serve with no port listens on the entity id\'s port; the entity configuration verifies and `anchorage jwt decode` reads it', async () => {
    const port = await freePort('127.0.0.1')
    const entityId = `http://127.0.0.1:${port}`
    const dir = join(tmp, 'deployment')
    const init = await run('anchorage', ['init', '--dir', dir, '--entity-id', entityId], { cwd: tmp, env })
    assert.match(init.stdout, /admin token \(operator admin, role admin\) written to/)

    const child = spawn('anchorage', ['serve', '--dir', dir], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => {
          out += d.toString()
          if (/listening on /.test(out)) resolve()
        }
        child.stdout.on('data', onData)
        child.stderr.on('data', onData)
        void exited.then((code) => reject(new Error(`anchorage serve exited with ${code}:\n${out}`)))
      })
      // A development deployment on loopback, where its entity id says, and no warning about the port.
      assert.match(out, new RegExp(`${entityId} listening on http://127\\.0\\.0\\.1:${port} \\(store: embedded, intrinsics frozen\\)`))
      assert.doesNotMatch(out, /disagrees/)

      const res = await fetch(`${entityId}/.well-known/openid-federation`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/entity-statement+jwt')
      const jwt = await res.text()
      const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jwks: JSONWebKeySet }
      const verified = await jwtVerify(jwt, createLocalJWKSet(payload.jwks), { issuer: entityId, subject: entityId, typ: 'entity-statement+jwt' })
      assert.equal(verified.payload.iss, entityId)
      // The operator console's static assets ship in the package (bin/build.mjs copies them into dist/).
      const index = await fetch(`${entityId}/console/`)
      assert.equal(index.status, 200)
      const script = /src="(assets\/[0-9a-f]{16}\/app\.js)"/.exec(await index.text())
      assert.ok(script, 'the console page names its script')
      assert.equal((await fetch(`${entityId}/console/${script[1]}`)).status, 200)

      const decoded = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const d = spawn('anchorage', ['jwt', 'decode', '-'], { cwd: tmp, env, stdio: ['pipe', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        d.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
        d.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
        d.on('error', reject)
        d.on('close', (code) => resolve({ code, stdout, stderr }))
        d.stdin.end(jwt + '\n')
      })
      assert.equal(decoded.code, 0, decoded.stderr)
      const { header, payload: body } = JSON.parse(decoded.stdout) as { header: { typ: string; kid: string }; payload: { sub: string } }
      assert.equal(header.typ, 'entity-statement+jwt')
      assert.equal(header.kid, verified.protectedHeader.kid)
      assert.equal(body.sub, entityId)
      assert.match(decoded.stderr, /NOT verified/)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    }
    assert.equal(await exited, 0, `a clean stop on SIGTERM:\n${out}`)
  })

  it('npm start\'s build step does nothing when the sources did not change, and notices when one did', async () => {
    const build = join(checkout, 'bin', 'build.mjs')
    const before = (await stat(join(checkout, 'dist', 'cli', 'run.js'))).mtimeMs
    const again = await run(process.execPath, [build, '--if-changed'], { cwd: checkout })
    assert.equal(again.stdout + again.stderr, '', 'an up-to-date build prints nothing')
    assert.equal((await stat(join(checkout, 'dist', 'cli', 'run.js'))).mtimeMs, before, 'and rewrites nothing')
    await run(process.execPath, [build, '--check'], { cwd: checkout })
    await appendFile(join(checkout, 'src', 'constants.ts'), '\n// edited\n')
    await assert.rejects(run(process.execPath, [build, '--check'], { cwd: checkout }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, /out of date: src\/ changed/)
      return true
    })
  })
})

describe('package: the command of a checkout that was never built', () => {
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-unbuilt-'))
    await mkdir(join(tmp, 'bin'))
    await cp(join(ROOT, 'bin', 'anchorage.js'), join(tmp, 'bin', 'anchorage.js'))
    await cp(join(ROOT, 'package.json'), join(tmp, 'package.json'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('says to build it, in two lines, with no stack trace', async () => {
    await assert.rejects(run(process.execPath, [join(tmp, 'bin', 'anchorage.js'), '--version'], { cwd: tmp }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, /^anchorage: not built: .*dist\/cli\/run\.js is missing\.\n/)
      assert.match(err.stderr, /npm run build/)
      assert.doesNotMatch(err.stderr, /\n\s+at /, 'no stack trace')
      return true
    })
  })

  it('says to install the dependencies when dist/ is there but they are not', async () => {
    await mkdir(join(tmp, 'dist', 'cli'), { recursive: true })
    await writeFile(join(tmp, 'dist', 'cli', 'run.js'), "import 'koa'\n")
    await assert.rejects(run(process.execPath, [join(tmp, 'bin', 'anchorage.js'), '--version'], { cwd: tmp }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, /^anchorage: cannot load the command: .*koa/)
      assert.match(err.stderr, /npm install/)
      assert.doesNotMatch(err.stderr, /\n\s+at /, 'no stack trace')
      return true
    })
  })
})
