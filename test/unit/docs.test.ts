/**
 * The docs hold what they show: every ```json block of docs/*.md and README.md parses (a
 * document, or JSON Lines: one document a line), ```jsonc blocks parse once their comments are
 * removed, docs/registration.md has no comments in its JSON; docs/prometheus-alerts.yml parses
 * as YAML, every rule is complete, and it names only metrics Anchorage serves (the metric table
 * of docs/operations.md, which test/integration/observability.test.ts holds to /metrics).
 */
import { strict as assert } from 'node:assert'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { ROOT } from '../support/cli.js'

interface Block { file: string; line: number; lang: string; text: string }

function blocks(file: string): Block[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const out: Block[] = []
  for (const m of text.matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```/gm)) {
    out.push({ file, line: text.slice(0, m.index).split('\n').length, lang: m[1]!, text: m[2]! })
  }
  return out
}

const DOCS = [...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md']

/** JSON with its // comments removed (outside strings). */
function stripComments(text: string): string {
  return text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*/g, (...m: string[]) => m[1] ?? '')
}

/** A block parses whole, or as JSON Lines. */
function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    const lines = text.split('\n').filter((l) => l.trim())
    return lines.length > 1 && lines.every((l) => {
      try {
        JSON.parse(l)
        return true
      } catch {
        return false
      }
    })
  }
}

describe('docs', () => {
  it('every json block parses (a document, or one per line)', () => {
    const all = DOCS.flatMap(blocks).filter((b) => b.lang === 'json')
    assert.ok(all.length >= 8, 'the docs have json blocks')
    const broken = all.filter((b) => !parses(b.text)).map((b) => `${b.file}:${b.line}`)
    assert.deepEqual(broken, [])
  })

  it('every jsonc block parses once its comments are removed (a member alone counts as an object\'s)', () => {
    const broken = DOCS.flatMap(blocks).filter((b) => b.lang === 'jsonc').filter((b) => {
      const text = stripComments(b.text).trim()
      return !parses(text.startsWith('"') ? `{${text}}` : text)
    }).map((b) => `${b.file}:${b.line}`)
    assert.deepEqual(broken, [])
  })

  it('docs/registration.md has no comments in its JSON and no leftover drafts', () => {
    const reg = blocks('docs/registration.md')
    assert.deepEqual(reg.filter((b) => b.lang === 'jsonc').map((b) => b.line), [])
    for (const b of reg.filter((x) => x.lang === 'json')) assert.equal(stripComments(b.text), b.text, `a comment in the block at line ${b.line}`)
    const text = readFileSync(join(ROOT, 'docs/registration.md'), 'utf8')
    assert.doesNotMatch(text, /^## README section/m)
    assert.doesNotMatch(text, /\b(TODO|FIXME|XXX|TBD)\b/)
  })

  describe('docs/prometheus-alerts.yml', () => {
    // The YAML parser mocha reads its own configuration with (no dependency of Anchorage's).
    const yaml = createRequire(createRequire(join(ROOT, 'package.json')).resolve('mocha'))('js-yaml') as { load(text: string): unknown }
    const served = new Set([...readFileSync(join(ROOT, 'docs/operations.md'), 'utf8').matchAll(/^\| `(anchorage_[a-z_]+)` \|/gm)].map((m) => m[1]!))
    type Rule = { alert?: unknown; expr?: unknown; for?: unknown; labels?: { severity?: unknown }; annotations?: { summary?: unknown; description?: unknown } }
    const doc = yaml.load(readFileSync(join(ROOT, 'docs/prometheus-alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }

    it('parses as YAML into rule groups whose every rule has a name, an expression, a duration, a severity and a summary', () => {
      assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0)
      const names = new Set<string>()
      for (const g of doc.groups) {
        assert.equal(typeof g.name, 'string')
        for (const r of g.rules) {
          assert.match(String(r.alert), /^Anchorage[A-Za-z]+$/)
          assert.ok(!names.has(String(r.alert)), `${String(r.alert)} twice`)
          names.add(String(r.alert))
          assert.equal(typeof r.expr, 'string', String(r.alert))
          assert.match(String(r.for), /^\d+[smhd]$/, String(r.alert))
          assert.ok(['critical', 'warning', 'info'].includes(String(r.labels?.severity)), String(r.alert))
          assert.equal(typeof r.annotations?.summary, 'string', String(r.alert))
        }
      }
      assert.ok(names.size >= 10)
    })

    it('names only metrics /admin/metrics serves', () => {
      assert.ok(served.size >= 10, 'the metric table of docs/operations.md')
      const used = new Set<string>()
      for (const r of doc.groups.flatMap((g) => g.rules)) {
        for (const m of String(r.expr).matchAll(/\banchorage_[a-z_]+/g)) used.add(m[0].replace(/_(bucket|count|sum)$/, ''))
      }
      for (const name of used) assert.ok(served.has(name), `${name} is not served`)
      assert.ok(used.size >= 8)
    })
  })
})
