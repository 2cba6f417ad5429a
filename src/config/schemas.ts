/**
 * JSON Schemas from the package's schemas/ folder, compiled once with ajv.
 * Validators report the first error only (allErrors off for untrusted input).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv'

/** The package root, from src/config (tsx) or dist/config (built). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

let ajv: Ajv | undefined
function instance(): Ajv {
  if (ajv) return ajv
  ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true })
  ajv.addFormat('uri', { type: 'string', validate: isAbsoluteUrl })
  ajv.addFormat('entity-id', { type: 'string', validate: isEntityIdSyntax })
  // Every draft-07 schema is registered up front so that schemas can $ref each other by $id.
  for (const file of readdirSync(join(PACKAGE_ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json'))) {
    const schema = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'schemas', file), 'utf8')) as { $id?: string; $schema?: string }
    if (schema.$schema && !schema.$schema.includes('draft-07')) continue
    ajv.addSchema(schema, schema.$id ?? file)
  }
  return ajv
}

const cache = new Map<string, ValidateFunction>()

/** Compiles (once) the schema file schemas/NAME.schema.json. */
export function validator(name: string): ValidateFunction {
  let v = cache.get(name)
  if (!v) {
    const file = `${name}.schema.json`
    const schema = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'schemas', file), 'utf8')) as { $id?: string }
    const a = instance()
    v = a.getSchema(schema.$id ?? file) ?? a.compile(schema)
    cache.set(name, v)
  }
  return v
}

/** "field: problem" for the first ajv error, naming the field by JSON pointer. */
export function describeAjvError(errors: ErrorObject[] | null | undefined, root = ''): string {
  const e = errors?.[0]
  if (!e) return 'invalid'
  let field = (root + e.instancePath).replace(/^\//, '').replace(/\//g, '.') || '(top level)'
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty
    field = field === '(top level)' ? extra : `${field}.${extra}`
    return `${field}: unknown property`
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    return `${field === '(top level)' ? missing : `${field}.${missing}`}: is required`
  }
  if (e.keyword === 'enum') {
    return `${field}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return `${field}: ${e.message ?? 'is invalid'}`
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
