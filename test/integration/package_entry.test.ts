/**
 * The package as a library: built with the build configuration (tsconfig.build.json), then
 * imported by its name ('anchorage', through package.json#exports) in a child process, the
 * way another Node program would. The README's embedding example runs as written, against:
 *
 *     TA   (Anchorage; its keys pinned in the example's ta-jwks.json)
 *      |   statement TA -> IA: contacts add ops@ta.example
 *     IA   (Anchorage intermediate)
 *      |
 *    LEAF  (openid_relying_party)
 *
 * The build goes to a temporary package directory (package.json, schemas/ and node_modules
 * beside it), so that the working tree's dist/ is never rewritten under a running CLI.
 */
import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, copyFile, symlink, readFile, writeFile, rm, access } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { threeLevel, type ThreeLevel } from '../support/federation.js'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')

/** The README's "Embedding the resolver in another Node program" code block. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split('### Embedding the resolver in another Node program')[1]
  const code = section?.match(/```js\n([\s\S]*?)```/)?.[1]
  assert.ok(code, 'README has no js example under "Embedding the resolver in another Node program"')
  return code
}

/** Replaces `from` by `to`, failing when the README no longer says `from` (the test would drift from it). */
function substitute(code: string, from: string, to: string): string {
  assert.ok(code.includes(from), `the README example no longer contains ${from}`)
  return code.split(from).join(to)
}

describe('package entry: the built library imported by its name', function () {
  this.timeout(180_000)
  let pkg: string
  let fed: ThreeLevel

  before(async () => {
    pkg = await mkdtemp(join(tmpdir(), 'anchorage-pkg-'))
    await copyFile(join(ROOT, 'package.json'), join(pkg, 'package.json'))
    await symlink(join(ROOT, 'schemas'), join(pkg, 'schemas'))
    await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: ROOT })
    fed = await threeLevel({ iaPolicy: { openid_relying_party: { contacts: { add: ['ops@ta.example'] } } } })
  })
  after(async () => {
    await fed?.stop()
    if (pkg) await rm(pkg, { recursive: true, force: true })
  })

  it('emits the files package.json names in main, types and exports', async () => {
    const manifest = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as { main: string; types: string; exports: { '.': { types: string; default: string } } }
    for (const file of [manifest.main, manifest.types, manifest.exports['.'].types, manifest.exports['.'].default]) {
      await access(join(pkg, file))
    }
  })

  it('exports the service factory, the resolver, the policy engine, the trust mark verifier, the stores and the errors', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('anchorage'); console.log(JSON.stringify(Object.keys(m)))"], { cwd: pkg })
    const names = new Set(JSON.parse(stdout) as string[])
    for (const name of [
      'startService', 'createService', 'createApp', 'listen', 'loadConfig', 'DEFAULTS',
      'Resolver', 'createFetcher', 'ResolveError',
      'createPolicyEngine', 'applyMetadataPolicy', 'resolvePolicies', 'PolicyError',
      'createTrustMarkVerifier', 'TrustMarkError',
      'createEmbeddedStore', 'createMongoStore', 'openStore', 'COLLECTIONS',
      'FederationError', 'STATUS', 'InvalidRequest', 'NotFound', 'isFederationError',
    ]) assert.ok(names.has(name), `'anchorage' does not export ${name}`)
  })

  it('runs the README embedding example: the leaf resolves to the anchor with the intermediate policy applied', async () => {
    let code = await readmeExample()
    code = substitute(code, "'https://ta.example.org'", JSON.stringify(fed.ta.entityId))
    code = substitute(code, "'https://rp.example.org'", JSON.stringify(fed.leaf.entityId))
    // The test federation runs on http loopback addresses, which the example rightly refuses.
    code = substitute(code, 'allowHttp: false, allowPrivateNetwork: false', 'allowHttp: true, allowPrivateNetwork: true')
    await writeFile(join(pkg, 'example.mjs'), code)
    await writeFile(join(pkg, 'ta-jwks.json'), JSON.stringify(await fed.ta.federation.keystore.jwks()))
    const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: pkg })
    const out = JSON.parse(stdout) as { anchor: string; metadata: { client_name: string; contacts: string[] }; exp: number }
    assert.equal(out.anchor, fed.ta.entityId)
    assert.equal(out.metadata.client_name, 'RP')
    assert.deepEqual(out.metadata.contacts, ['ops@ta.example'])
    assert.ok(out.exp > fed.clock.now())
  })

  it('runs the README embedding example to a ResolveError when the pinned keys are not the anchor\'s', async () => {
    await writeFile(join(pkg, 'ta-jwks.json'), JSON.stringify(await fed.ia.federation.keystore.jwks()))
    await assert.rejects(run(process.execPath, ['example.mjs'], { cwd: pkg }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, /^invalid_trust_chain /m)
      return true
    })
  })
})
