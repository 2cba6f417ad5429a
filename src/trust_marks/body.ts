/**
 * Admin request bodies, validated by the JSON Schemas in schemas/. The first error names
 * the field; object keys that are URLs (trust mark types) are quoted rather than split.
 */
import { validator, describeAjvError } from '../config/schemas.js'
import { InvalidRequest } from '../errors.js'

export function validateBody<T>(schema: string, input: unknown): T {
  const v = validator(schema)
  if (!v(input)) throw new InvalidRequest(describeAjvError(v.errors, { indexes: 'brackets', names: 'trust mark type' }))
  return input as T
}
