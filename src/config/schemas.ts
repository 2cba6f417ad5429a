/**
 * The JSON Schemas of the package's schemas/ folder: one ajv instance compiles all of them
 * together, once: at start-up for a service (createService calls compileSchemas), when the
 * first is needed otherwise (a CLI command that validates nothing compiles nothing), and
 * `describeAjvError` is the one way an ajv failure becomes a description. Validators report
 * the first error only (allErrors off for untrusted input).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv'
import { didYouMean } from '../suggest.js'

/** The package root, from src/config (tsx) or dist/config (built). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * schemas/NAME.schema.json -> its validator. Not deployment state: the same package files give
 * the same validators to every deployment in the process, and the map never changes once built.
 */
let compiled: ReadonlyMap<string, ValidateFunction> | undefined
/** The same schemas reporting every error (operators' own files only: `everyProblem`), compiled when first needed. */
let compiledAllErrors: ReadonlyMap<string, ValidateFunction> | undefined

function compileAll(allErrors = false): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors, verbose: allErrors, strict: true, strictRequired: false, allowUnionTypes: true })
  ajv.addFormat('uri', { type: 'string', validate: isAbsoluteUrl })
  ajv.addFormat('entity-id', { type: 'string', validate: isEntityIdSyntax })
  const dir = join(PACKAGE_ROOT, 'schemas')
  const ids = new Map<string, string>()
  // Every schema is registered before any is compiled, so that schemas can $ref each other by $id.
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { $id?: string; $schema?: string }
    if (schema.$schema && !schema.$schema.includes('draft-07')) continue
    const id = schema.$id ?? file
    ajv.addSchema(schema, id)
    ids.set(file.slice(0, -'.schema.json'.length), id)
  }
  const out = new Map<string, ValidateFunction>()
  for (const [name, id] of ids) out.set(name, ajv.getSchema(id)!)
  return out
}

/** Compiles every schema now (createService: at start-up), unless done before. */
export function compileSchemas(): void {
  compiled ??= compileAll()
}

/** The validator of schemas/NAME.schema.json. */
export function validator(name: string): ValidateFunction {
  compiled ??= compileAll()
  const v = compiled.get(name)
  if (!v) throw new Error(`no schema schemas/${name}.schema.json`)
  return v
}

/**
 * Every schema of schemas/ by name (`subordinate` for subordinate.schema.json), as compiled:
 * the very objects the validators check with (the admin API's OpenAPI contract is built from
 * them: src/http/admin/openapi.ts). Shared with ajv: never change one.
 */
export function compiledSchemas(): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
  compiled ??= compileAll()
  return new Map([...compiled].map(([name, v]) => [name, v.schema as Record<string, unknown>]))
}

/**
 * Every problem of a file an operator wrote (anchorage.json), one "field: problem" each, so that
 * one run lists them all. Only for trusted input: an ajv instance with allErrors, compiled when a
 * file first fails (a valid configuration never pays for it). An unknown property gets the
 * closest property the schema has there ("servr: unknown property (did you mean server?)"); a
 * value matching none of the alternatives is one problem, not one per alternative.
 */
export function everyProblem(name: string, data: unknown): string[] {
  compiledAllErrors ??= compileAll(true)
  const v = compiledAllErrors.get(name)
  if (!v) throw new Error(`no schema schemas/${name}.schema.json`)
  if (v(data)) return []
  const errors = v.errors ?? []
  // Errors inside an anyOf/oneOf branch are folded into that combinator's own error.
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
  const inBranch = (e: ErrorObject) => combinators.some((c) => c !== e && e.schemaPath.startsWith(c.schemaPath.replace(/\/(anyOf|oneOf)$/, '') + '/' + c.keyword + '/'))
  const out: string[] = []
  for (const e of errors) {
    if (inBranch(e)) continue
    let text: string
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const branches = errors.filter((b) => b !== e && b.instancePath === e.instancePath && b.schemaPath.startsWith(e.schemaPath + '/')).map((b) => b.message ?? 'is invalid')
      const path = schemaProblem([e])!.path
      text = `${fieldName(path)}: ${[...new Set(branches)].join(', or ') || (e.message ?? 'is invalid')}`
    } else {
      text = describeAjvError([e])
      if (e.keyword === 'additionalProperties') {
        const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {})
        text += didYouMean((e.params as { additionalProperty: string }).additionalProperty, known)
      }
    }
    if (!out.includes(text)) out.push(text)
  }
  return out
}

/** What is wrong, and where: the member's path (object keys and array indexes) from the top. */
export interface SchemaProblem {
  path: string[]
  keyword: string
  message: string
  /** Set when the problem is a member's name (propertyNames), not its value. */
  badName?: boolean
}

/** The first problem of an ajv failure, with the path decoded from its JSON pointer. */
export function schemaProblem(errors: readonly ErrorObject[] | null | undefined): SchemaProblem | undefined {
  const e = errors?.[0]
  if (!e) return undefined
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (e.keyword === 'additionalProperties') {
    return { path: [...path, (e.params as { additionalProperty: string }).additionalProperty], keyword: e.keyword, message: 'unknown property' }
  }
  if (e.keyword === 'required') {
    return { path: [...path, (e.params as { missingProperty: string }).missingProperty], keyword: e.keyword, message: 'is required' }
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')
    return { path, keyword: e.keyword, message: `must be one of ${allowed}` }
  }
  if (e.propertyName !== undefined) return { path: [...path, e.propertyName], keyword: e.keyword, message: e.message ?? 'is invalid', badName: true }
  return { path, keyword: e.keyword, message: e.message ?? 'is invalid' }
}

export interface DescribeOptions {
  /** `a.0` (the subordinate and configuration texts, the default) or `a[0]` with quoted names (trust marks: URL keys). */
  indexes?: 'dots' | 'brackets'
  /** What a member name stands for, when a name is refused (default "member name"). */
  names?: string
}

/**
 * "field: problem" for the first ajv error: `jwks.keys: must NOT have fewer than 1 items`,
 * `["https://x/tm"][0]: must match format "entity-id"`, `(top level): must be object`.
 * Names that are not plain words (URLs, white space) are quoted.
 */
export function describeAjvError(errors: readonly ErrorObject[] | null | undefined, options: DescribeOptions = {}): string {
  const p = schemaProblem(errors)
  if (!p) return 'invalid'
  const message = p.badName ? `is not a valid ${options.names ?? 'member name'} (${p.message})` : p.message
  return `${fieldName(p.path, options.indexes ?? 'dots')}: ${message}`
}

/**
 * A member's path for people, or `(top level)`: `a.b.0.c` with dots; with brackets
 * `a.b[0]["https://x"]` (indexes and names that are not plain words in brackets).
 */
export function fieldName(path: readonly string[], indexes: 'dots' | 'brackets' = 'dots'): string {
  if (path.length === 0) return '(top level)'
  const dotted = (s: string, i: number) => `${i ? '.' : ''}${s}`
  if (indexes === 'dots') return path.map(dotted).join('')
  return path.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : /^[\w-]+$/.test(s) ? dotted(s, i) : `[${JSON.stringify(s)}]`)).join('')
}

export function isAbsoluteUrl(s: string): boolean {
  try {
    new URL(s)
    return /^[a-z][a-z0-9+.-]*:/i.test(s)
  } catch {
    return false
  }
}

/** Entity Identifier syntax: http(s) URL with a host, no query, no fragment (spec "Entity Identifier"). */
export function isEntityIdSyntax(s: string): boolean {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return false
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return false
  if (!u.hostname || u.search || u.hash || s.includes('?') || s.includes('#')) return false
  if (u.username || u.password) return false
  return true
}
