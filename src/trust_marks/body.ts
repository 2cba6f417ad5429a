/**
 * Admin request bodies, validated by the JSON Schemas in schemas/. The first error names
 * the field; object keys that are URLs (trust mark types) are quoted rather than split.
 */
import type { ErrorObject } from 'ajv'
import { validator } from '../config/schemas.js'
import { InvalidRequest } from '../errors.js'

export function validateBody<T>(schema: string, input: unknown): T {
  const v = validator(schema)
  if (!v(input)) throw new InvalidRequest(describe(v.errors?.[0]))
  return input as T
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'invalid'
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (e.keyword === 'additionalProperties') return `${field([...path, (e.params as { additionalProperty: string }).additionalProperty])}: unknown property`
  if (e.keyword === 'required') return `${field([...path, (e.params as { missingProperty: string }).missingProperty])}: is required`
  if (e.propertyName !== undefined) return `${field([...path, e.propertyName])}: is not a valid trust mark type (${e.message ?? 'invalid'})`
  return `${field(path)}: ${e.message ?? 'is invalid'}`
}

function field(path: string[]): string {
  if (path.length === 0) return '(top level)'
  return path.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : /^[\w-]+$/.test(s) ? `${i ? '.' : ''}${s}` : `[${JSON.stringify(s)}]`)).join('')
}
