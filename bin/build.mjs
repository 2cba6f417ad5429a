#!/usr/bin/env node
/**
 * Builds dist/ (the compiled package: the `anchorage` command and the library entry) from
 * src/ with TypeScript (tsconfig.build.json). Run by `npm run build`, `npm start` (prestart,
 * `--if-changed`), `npm run demo` and `npm pack` / `npm publish` (prepack).
 *
 *   node bin/build.mjs               clean build: dist/ removed, then compiled
 *   node bin/build.mjs --if-changed  the same, only when the sources changed since the last build
 *   node bin/build.mjs --check       exit 0 when dist/ is up to date, 1 otherwise (builds nothing)
 *
 * "Changed" means a different digest over every file under src/, both tsconfig files and the
 * TypeScript version (dist/.source-digest, written after a successful build): a checkout or
 * a branch switch that only touches timestamps does not rebuild, and an edit always does. A
 * clean build leaves no output of a source file that no longer exists. Messages go to
 * stderr; an up-to-date --if-changed prints nothing.
 */
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DIST = join(ROOT, 'dist')
const DIGEST_FILE = join(DIST, '.source-digest')
const ENTRY = join(DIST, 'cli', 'run.js')

const say = (s) => process.stderr.write(`anchorage build: ${s}\n`)

function files(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...files(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

function tscPath() {
  const require = createRequire(join(ROOT, 'package.json'))
  try {
    return join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
  } catch {
    say('TypeScript is not installed: run `npm install` (or `npm ci`) first')
    process.exit(1)
  }
}

function sourceDigest(tsc) {
  const h = createHash('sha256')
  const inputs = [...files(join(ROOT, 'src')), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')]
  for (const p of inputs.sort()) {
    const content = readFileSync(p)
    // Path and length first: moving bytes between files or renaming one changes the digest.
    h.update(`${relative(ROOT, p).split(sep).join('/')}\0${content.length}\0`).update(content)
  }
  h.update(`typescript ${JSON.parse(readFileSync(join(dirname(tsc), '..', 'package.json'), 'utf8')).version}`)
  return h.digest('hex')
}

function built() {
  try {
    return existsSync(ENTRY) ? readFileSync(DIGEST_FILE, 'utf8').trim() : undefined
  } catch {
    return undefined
  }
}

const mode = process.argv[2]
if (mode !== undefined && mode !== '--if-changed' && mode !== '--check') {
  say(`unknown option ${mode} (use --if-changed or --check)`)
  process.exit(2)
}
if (!existsSync(join(ROOT, 'src'))) {
  // An installed package (no sources): dist/ is what was packed.
  if (existsSync(ENTRY)) process.exit(0)
  say('neither src/ nor dist/ is here: nothing to build from')
  process.exit(1)
}
const tsc = tscPath()
const digest = sourceDigest(tsc)
const previous = built()
if (mode === '--check') {
  if (previous === digest) process.exit(0)
  say(previous === undefined ? 'dist/ is not built' : 'dist/ is out of date: src/ changed since the last build')
  process.exit(1)
}
if (mode === '--if-changed' && previous === digest) process.exit(0)

const started = process.hrtime.bigint()
say(previous === undefined
  ? 'dist/ is not built yet: compiling src/ with TypeScript (the first build takes a while: up to a minute on a slow machine)...'
  : mode === '--if-changed' ? 'src/ changed since the last build: rebuilding dist/...' : 'compiling src/ into dist/...')
rmSync(DIST, { recursive: true, force: true })
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' })
if (r.status !== 0) {
  say(`TypeScript failed (${r.status ?? r.signal}): dist/ is incomplete; fix the errors above and run it again`)
  process.exit(1)
}
// The operator console's static assets (plain ES modules, CSS, pages) ship as they are,
// beside the compiled server that reads them (src/http/console/assets.ts).
cpSync(join(ROOT, 'src', 'console', 'static'), join(DIST, 'console', 'static'), { recursive: true })
writeFileSync(DIGEST_FILE, digest + '\n')
say(`built dist/ in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`)
