/** Query/form parameter access with the spec's rules: unknown parameters are ignored, duplicates of single-valued ones are errors. */
import { InvalidRequest } from '../errors.js'

export type Params = URLSearchParams

export function single(params: Params, name: string, required: true): string
export function single(params: Params, name: string, required?: false): string | undefined
export function single(params: Params, name: string, required = false): string | undefined {
  const values = params.getAll(name)
  if (values.length > 1) throw new InvalidRequest(`${name}: must be given once`)
  const v = values[0]
  if (v === undefined || v === '') {
    if (required) throw new InvalidRequest(`${name}: is required`)
    return undefined
  }
  return v
}

export function multi(params: Params, name: string): string[] | undefined {
  const values = params.getAll(name).filter((v) => v !== '')
  return values.length ? values : undefined
}

export function bool(params: Params, name: string): boolean | undefined {
  const v = single(params, name)
  if (v === undefined) return undefined
  if (v === 'true') return true
  if (v === 'false') return false
  throw new InvalidRequest(`${name}: must be true or false`)
}

export function int(params: Params, name: string, min: number, max: number): number | undefined {
  const v = single(params, name)
  if (v === undefined) return undefined
  // Decimal digits only: Number() would also take 0x10, 1e3, ' 5' and '+5'.
  const n = /^-?\d{1,16}$/.test(v) ? Number(v) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidRequest(`${name}: must be an integer from ${min} to ${max}`)
  return n
}

export function queryOf(search: string): Params {
  return new URLSearchParams(search)
}
