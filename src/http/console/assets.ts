/**
 * The console's static assets (src/console/static/, copied to dist/console/static/ by
 * bin/build.mjs): read once at start, served from memory. Scripts and styles live under
 * `assets/<digest>/`, the digest over every file, so they are cached for a year
 * (`immutable`) and a new version is a new URL; the pages that name them are never cached.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES: ReadonlyMap<string, string> = new Map([
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.html', 'text/html; charset=utf-8'],
])

export interface Asset {
  body: Buffer
  type: string
}

export interface Assets {
  /** Hex digest over every file: the assets' URL segment. */
  digest: string
  /** By file name (scripts, styles, images). */
  files: ReadonlyMap<string, Asset>
  /** The pages, by name (`index`, `login`), with `{{assets}}` replaced by `assets/<digest>`. */
  pages: ReadonlyMap<string, string>
}

/** The directory the assets are read from: beside the compiled module, in src/ or dist/. */
export const STATIC_DIR = fileURLToPath(new URL('../../console/static/', import.meta.url))

let loaded: Assets | undefined

/** Reads the directory once per process (every deployment of the process serves the same files). */
export function consoleAssets(dir = STATIC_DIR): Assets {
  if (loaded && dir === STATIC_DIR) return loaded
  const h = createHash('sha256')
  const files = new Map<string, Asset>()
  const pages = new Map<string, string>()
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES.get(extname(name))
    if (!type) continue
    const body = readFileSync(join(dir, name))
    h.update(`${name}\0${body.length}\0`).update(body)
    if (name.endsWith('.html')) pages.set(name.slice(0, -'.html'.length), body.toString('utf8'))
    else files.set(name, { body, type })
  }
  const digest = h.digest('hex').slice(0, 16)
  for (const [name, text] of pages) pages.set(name, text.replaceAll('{{assets}}', `assets/${digest}`))
  const assets = { digest, files, pages }
  if (dir === STATIC_DIR) loaded = assets
  return assets
}
