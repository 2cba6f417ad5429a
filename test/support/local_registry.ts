/**
 * A package registry on 127.0.0.1 for installing the packed `anchorage` tarball without the
 * network: it knows exactly the packages of package-lock.json (their package documents
 * built from the lockfile's entries) and serves their tarballs from the npm cache, where
 * `npm ci` put them (found by integrity, as npm itself finds them).
 *
 * Why not `npm install -g --offline` against the cache alone: resolving the package's
 * dependency ranges needs each dependency's package document, and a cached one lists
 * whatever versions existed when it was fetched, so an offline install picks a version
 * newer than the lockfile's whenever one was published since, whose tarball is not cached.
 * Here every range resolves against the locked versions, deterministically.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createReadStream } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

interface LockEntry {
  name?: string
  version?: string
  integrity?: string
  link?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, unknown>
  bin?: Record<string, string> | string
  engines?: Record<string, string>
  os?: string[]
  cpu?: string[]
  license?: string
  hasInstallScript?: boolean
}

export interface LocalRegistry {
  url: string
  /** Tarballs asked for that the npm cache does not hold (name@version). */
  missing: string[]
  close(): Promise<void>
}

const MANIFEST_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines', 'os', 'cpu', 'license'] as const

/** The cacache file holding the content of `integrity` (sha512-BASE64). */
function contentPath(cache: string, integrity: string): string | undefined {
  const m = /^(sha\d+)-([A-Za-z0-9+/=]+)$/.exec(integrity.split(/\s+/)[0] ?? '')
  if (!m) return undefined
  const hex = Buffer.from(m[2]!, 'base64').toString('hex')
  return join(cache, '_cacache', 'content-v2', m[1]!, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
}

/** Orders x.y.z[-pre] versions (a pre-release before its release). */
function byVersion(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2)
    return [...core.split('.').map(Number), pre === undefined ? 1 : 0]
  }
  const pa = parse(a)
  const pb = parse(b)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

export async function startLocalRegistry(lockfile: string, npmCache: string): Promise<LocalRegistry> {
  const lock = JSON.parse(await readFile(lockfile, 'utf8')) as { packages: Record<string, LockEntry> }
  const documents = new Map<string, Map<string, Record<string, unknown>>>()
  const tarballs = new Map<string, { file: string; id: string }>()
  let url = ''
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link || !entry.version || !entry.integrity) continue
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    const file = contentPath(npmCache, entry.integrity)
    if (!file) continue
    const key = createHash('sha256').update(entry.integrity).digest('hex')
    tarballs.set(key, { file, id: `${name}@${entry.version}` })
    const manifest: Record<string, unknown> = { name, version: entry.version }
    for (const f of MANIFEST_FIELDS) if (entry[f] !== undefined) manifest[f] = entry[f]
    // The URL is known once listening: filled in when the document is served.
    manifest.dist = { integrity: entry.integrity, tarball: key }
    let versions = documents.get(name)
    if (!versions) documents.set(name, (versions = new Map()))
    versions.set(entry.version, manifest)
  }
  const missing: string[] = []
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1)
    const tarball = /^-\/tarball\/([0-9a-f]+)\.tgz$/.exec(path)
    if (tarball) {
      const t = tarballs.get(tarball[1]!)
      if (!t) return void res.writeHead(404).end()
      access(t.file).then(() => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        createReadStream(t.file).pipe(res)
      }, () => {
        missing.push(t.id)
        res.writeHead(404).end()
      })
      return
    }
    const versions = documents.get(path)
    if (!versions) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    const all: Array<Record<string, unknown>> = [...versions.values()].map((m) => ({ ...m, dist: { ...(m.dist as object), tarball: `${url}/-/tarball/${(m.dist as { tarball: string }).tarball}.tgz` } }))
    // npm takes the "latest" tag when it satisfies the range: the highest version.
    const latest = all.map((m) => m.version as string).sort(byVersion).at(-1)!
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ name: path, 'dist-tags': { latest }, versions: Object.fromEntries(all.map((m) => [m.version as string, m])) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    missing,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
