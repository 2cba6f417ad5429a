/**
 * The import graph of src/ (docs/architecture.md "Layers"; ../shared/ARCHITECTURE.md "One
 * picture"): dependencies point down only, and no two folders import each other, directly
 * or around a loop. Every `import`/`export ... from` and dynamic `import()` counts, type-only
 * ones too: a type import still ties one folder's shape to another's.
 *
 * Layers, top to bottom:
 *   top             cli/, http/, demo/ (programs the CLI starts), index.ts (the library entry)
 *   composition     service.ts (createService): builds the foundation, then each capability for it
 *   capability      capabilities/ and every `<folder>/capability.ts`: what a capability declares
 *   foundation      federation.ts: what every capability is built on (keys, audit, fetcher, changes)
 *   domain          entity/ subordinates/ trust_chain/ metadata_policy/ trust_marks/ registration/
 *                   audit/ authorization_server/, and foundation.ts (the Foundation type, which
 *                   domain deps narrow; federation.ts builds the value)
 *   infrastructure  crypto/ storage/ net/ util/ config/, and the shared files at the root
 *                   (errors.ts, types.ts, constants.ts, clock.ts, logger.ts, changes.ts …)
 *
 * config/ is infrastructure, and its floor: every layer may read the configuration's types,
 * defaults and schemas, and config/ imports nothing but the root's shared files (it is the
 * only reader of files and the environment, and hands what it read down to the rest).
 *
 * A node of the graph is a folder under src/ (`trust_chain/`) or a file at its root
 * (`federation.ts`). Within a layer, folders may import each other one way; a loop is a cycle.
 */
import { strict as assert } from 'node:assert'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

const SRC = resolve(import.meta.dirname, '..', '..', 'src')

const RANK = { infrastructure: 0, domain: 1, foundation: 2, capability: 3, composition: 4, top: 5 } as const
type Layer = keyof typeof RANK

const TOP = new Set(['cli/', 'http/', 'demo/', 'index.ts'])
const COMPOSITION = new Set(['service.ts', 'capabilities.ts'])
const DOMAIN = new Set(['foundation.ts', 'software_statements/', 'protected_resource/', 'entity/', 'subordinates/', 'trust_chain/', 'metadata_policy/', 'trust_marks/', 'registration/', 'audit/', 'authorization_server/'])
const INFRASTRUCTURE_FOLDERS = new Set(['crypto/', 'storage/', 'net/', 'util/', 'config/'])

/**
 * Known exceptions, each an edge `from -> to` between nodes, removed from the graph before
 * the checks. Every entry says why it is still here and who removes it; an entry the code no
 * longer needs fails the test (delete it), so the list only shrinks.
 */
const KNOWN_EXCEPTIONS: ReadonlyMap<string, string> = new Map([])

/** `trust_chain/resolver.ts` -> `trust_chain/`; `errors.ts` -> `errors.ts`. */
function nodeOf(file: string): string {
  const i = file.indexOf('/')
  return i === -1 ? file : file.slice(0, i + 1)
}

function layerOf(file: string): Layer {
  const node = nodeOf(file)
  if (TOP.has(node)) return 'top'
  if (COMPOSITION.has(node)) return 'composition'
  if (node === 'capabilities/' || file.endsWith('/capability.ts')) return 'capability'
  if (node === 'federation.ts') return 'foundation'
  if (DOMAIN.has(node)) return 'domain'
  if (INFRASTRUCTURE_FOLDERS.has(node) || !node.endsWith('/')) return 'infrastructure'
  throw new Error(`src/${node} has no layer: add it to test/unit/architecture.test.ts (and docs/architecture.md)`)
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

// `import x from '…'`, `import type { X } from '…'`, `export * from '…'`, `import '…'`, `import('…')`.
const IMPORT = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

interface Edge { from: string; to: string }

/** Every import of one src/ file by another, as paths relative to src/ with `/`. */
function importsOf(): Edge[] {
  const edges: Edge[] = []
  for (const abs of sourceFiles(SRC)) {
    const from = relative(SRC, abs).split(sep).join('/')
    const text = readFileSync(abs, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]
      if (!spec?.startsWith('.')) continue
      const to = relative(SRC, resolve(dirname(abs), spec)).split(sep).join('/').replace(/\.js$/, '.ts')
      if (!to.startsWith('..')) edges.push({ from, to })
    }
  }
  return edges
}

const key = (e: { from: string; to: string }) => `${nodeOf(e.from)} -> ${nodeOf(e.to)}`

/** Strongly connected components of more than one node (Tarjan), each sorted. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = []
      let w: string | undefined
      do {
        w = stack.pop()!
        onStack.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return out
}

/** The shortest way from `start` back to itself, by breadth-first search. */
function shortestLoop(graph: Map<string, Set<string>>, start: string): string[] {
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length) {
    const v = queue.shift()!
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const path = [start]
        for (let u: string | undefined = v; u !== undefined && u !== start; u = previous.get(u)) path.splice(1, 0, u)
        return [...path, start]
      }
      if (!previous.has(w)) {
        previous.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start]
}

describe('architecture: the import graph of src/', () => {
  const all = importsOf()
  const crossing = all.filter((e) => nodeOf(e.from) !== nodeOf(e.to))
  const checked = crossing.filter((e) => !KNOWN_EXCEPTIONS.has(key(e)))

  it('finds the imports it checks (value, type, re-export and dynamic)', () => {
    const has = (from: string, to: string) => all.some((e) => e.from === from && e.to === to)
    assert.ok(has('index.ts', 'trust_chain/resolver.ts'), 'export { … } from')
    assert.ok(has('index.ts', 'errors.ts'), 'export * from')
    assert.ok(all.length > 300, `only ${all.length} imports found`)
  })

  it('places every file of src/ in a layer', () => {
    for (const e of all) {
      layerOf(e.from)
      layerOf(e.to)
    }
  })

  it('has no cycle between folders', () => {
    const graph = new Map<string, Set<string>>()
    for (const e of checked) {
      const set = graph.get(nodeOf(e.from)) ?? new Set<string>()
      set.add(nodeOf(e.to))
      graph.set(nodeOf(e.from), set)
    }
    const found = cycles(graph).map((scc) => `${scc.join(' ')}, e.g. ${shortestLoop(graph, scc[0]!).join(' -> ')}`)
    assert.deepEqual(found, [], `folders that import each other:\n  ${found.join('\n  ')}`)
  })

  it('imports nothing from a higher layer (nothing below imports http/, cli/, a capability or the composition)', () => {
    const upward = [...new Set(checked
      .filter((e) => RANK[layerOf(e.to)] > RANK[layerOf(e.from)])
      .map((e) => `${key(e)}   (${e.from}, ${layerOf(e.from)} -> ${e.to}, ${layerOf(e.to)})`))]
    assert.deepEqual(upward, [], `imports from a lower layer into a higher one:\n  ${upward.join('\n  ')}`)
  })

  it('lists only exceptions the code still needs', () => {
    const used = new Set(crossing.map(key))
    const stale = [...KNOWN_EXCEPTIONS.keys()].filter((k) => !used.has(k))
    assert.deepEqual(stale, [], 'no import left for these known exceptions: delete them from KNOWN_EXCEPTIONS')
  })
})
