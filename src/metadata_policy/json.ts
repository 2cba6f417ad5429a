/**
 * JSON value helpers. Inputs are parsed JSON (no undefined, functions or cycles). Set
 * operations compare by JSON equality and keep first-seen order, so results are deterministic
 * although the spec leaves the order of merged values undefined ("Metadata Policy > Operators").
 *
 * Member names come from outside (Entity Types, parameters, operators, metadata members), so
 * `__proto__`, `constructor`, `toString` … are ordinary names: every object the engine builds
 * has no prototype (newObject), and inputs are read with own-property semantics (own, hasOwn).
 */

export type JsonObject = { [key: string]: unknown }

/** The JSON value types operator definitions speak of ("Mandatory/Optional to support"). */
export type ValueKind =
  | 'string'
  | 'number'
  | 'boolean'
  | 'null'
  | 'object'
  | 'array'
  | 'array of strings'
  | 'array of numbers'
  | 'array of objects'

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function hasOwn(o: object, key: string): boolean {
  return Object.hasOwn(o, key)
}

/** `o[key]` when `o` has the member itself; an inherited one (`toString`, `__proto__`) is absent. */
export function own(o: object, key: string): unknown {
  return Object.hasOwn(o, key) ? (o as JsonObject)[key] : undefined
}

/**
 * A new object for members named by outside data. Without a prototype, reading a name it
 * lacks gives undefined and writing any name (even `__proto__`) makes an ordinary member,
 * so no merge can reach Object.prototype through it. JSON.stringify serialises it as usual.
 */
export function newObject<T = unknown>(): { [key: string]: T } {
  return Object.create(null) as { [key: string]: T }
}

/** A shallow copy of `o`'s own members into a newObject(). */
export function copyMembers(o: JsonObject): JsonObject {
  const out = newObject()
  for (const k of Object.keys(o)) setMember(out, k, o[k])
  return out
}

/**
 * obj[key] = value, also for the key "__proto__", which parsed JSON may carry as an ordinary
 * member name and which plain assignment would treat as the prototype.
 */
export function setMember(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
  else obj[key] = value
}

/** JSON equality: arrays by position, objects by member regardless of member order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) {
    if (!hasOwn(b, k) || !jsonEqual((a as JsonObject)[k], (b as JsonObject)[k])) return false
  }
  return true
}

export function contains(list: readonly unknown[], v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return list.includes(v)
  for (const item of list) if (jsonEqual(item, v)) return true
  return false
}

export function isSubset(sub: readonly unknown[], sup: readonly unknown[]): boolean {
  for (const v of sub) if (!contains(sup, v)) return false
  return true
}

/** Members of `a` then those of `b` not seen yet, each once. */
export function union(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const out: unknown[] = []
  for (const v of a) if (!contains(out, v)) out.push(v)
  for (const v of b) if (!contains(out, v)) out.push(v)
  return out
}

/** Members of `a` that are in `b`, each once, in the order of `a`. */
export function intersect(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const out: unknown[] = []
  for (const v of a) if (contains(b, v) && !contains(out, v)) out.push(v)
  return out
}

/** Order-insensitive equality of two arrays taken as sets. */
export function setEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  return isSubset(a, b) && isSubset(b, a)
}

export function cloneJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) return v.map(cloneJson) as T
  const out = newObject()
  for (const k of Object.keys(v)) setMember(out, k, cloneJson((v as JsonObject)[k]))
  return out as T
}

export function hasKind(v: unknown, kind: ValueKind): boolean {
  switch (kind) {
    case 'null':
      return v === null
    case 'object':
      return isObject(v)
    case 'array':
      return Array.isArray(v)
    case 'array of strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
    case 'array of numbers':
      return Array.isArray(v) && v.every((x) => typeof x === 'number')
    case 'array of objects':
      return Array.isArray(v) && v.every(isObject)
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
    default:
      return typeof v === kind
  }
}

export function hasAnyKind(v: unknown, kinds: readonly ValueKind[]): boolean {
  for (const k of kinds) if (hasKind(v, k)) return true
  return false
}

/** A short name of v's JSON type for messages: `string`, `array of booleans`, `array of mixed values`. */
export function describeKind(v: unknown): string {
  if (v === null) return 'null'
  if (!Array.isArray(v)) return isObject(v) ? 'object' : typeof v
  if (v.length === 0) return 'empty array'
  const inner = new Set(v.map((x) => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x)))
  if (inner.size > 1) return 'array of mixed values'
  const [only] = inner
  return `array of ${only === 'boolean' ? 'booleans' : only === 'array' ? 'arrays' : `${only}s`}`
}

export function describeKinds(kinds: readonly ValueKind[]): string {
  if (kinds.length <= 1) return kinds.join('')
  return `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}`
}

/** JSON text of v for messages, cut at 120 characters. */
export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 120 ? `${s.slice(0, 117)}...` : s
}
