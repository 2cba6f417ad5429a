/**
 * fast-check generators of hostile JSON: member names mix Object.prototype members
 * (`__proto__`, `constructor`, `prototype`, `toString`, `hasOwnProperty`, `valueOf`), names
 * the code looks for (Entity Types, parameters, operators, claims) and random ones; nesting
 * stays within limits.json_depth. Every value is returned as JSON.parse makes it (a member
 * named `__proto__` is an own data member, never the prototype), since that is what reaches
 * the code from outside.
 */
import fc from 'fast-check'

export const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const
export const OPERATORS = ['value', 'add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential'] as const
const TYPES = ['openid_relying_party', 'federation_entity', 'oauth_client'] as const
const PARAMETERS = ['scope', 'contacts', 'client_name', 'grant_types', 'redirect_uris'] as const

/** A member name: hostile, known to the code (`known`), or random. */
export const name = (known: readonly string[] = []): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES) }, { weight: 3, arbitrary: known.length ? fc.constantFrom(...known) : fc.constantFrom(...PROTO_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) })

/** An object from [name, value] pairs, each an own member (defineProperty: `__proto__` too). */
export function objectOf<T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxKeys = 4): fc.Arbitrary<Record<string, T>> {
  return fc.array(fc.tuple(key, value), { maxLength: maxKeys }).map((entries) => {
    const o: Record<string, T> = {}
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
    return o
  })
}

const scalar = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom(...PROTO_NAMES))

/** Any JSON value with hostile member names, at most `depth` levels of arrays/objects. */
export function json(depth = 6, known: readonly string[] = []): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: depth },
      scalar,
      fc.array(tie('value'), { maxLength: 3 }),
      objectOf(name(known), tie('value')),
    ),
  }))
  return value
}

const strings = fc.array(fc.constantFrom('a', 'b', 'c', '__proto__', 'toString'), { maxLength: 3 })

/** [operator, value]: mostly a standard operator with a value of its type, sometimes a hostile name or a wrong type. */
const operator: fc.Arbitrary<[string, unknown]> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(
    fc.tuple(fc.constant('value'), fc.oneof(strings, fc.string({ maxLength: 4 }), fc.constant(null))),
    fc.tuple(fc.constantFrom('add', 'one_of', 'subset_of', 'superset_of'), strings),
    fc.tuple(fc.constant('default'), fc.oneof(strings, fc.string({ maxLength: 4 }))),
    fc.tuple(fc.constant('essential'), fc.boolean()),
  ) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...PROTO_NAMES), json(2)) },
  { weight: 1, arbitrary: fc.tuple(name(OPERATORS), json(2, OPERATORS)) },
)

/** Pairs into an object of own members. */
const fromPairs = (pairs: Array<[string, unknown]>): Record<string, unknown> => {
  const o: Record<string, unknown> = {}
  for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  return o
}

/** A metadata_policy: Entity Type -> parameter -> operator -> value, hostile names at every level. */
export const policy: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: objectOf(name(TYPES), objectOf(name(PARAMETERS), fc.array(operator, { maxLength: 2 }).map(fromPairs), 3), 2) },
  { weight: 1, arbitrary: json(5, [...TYPES, ...PARAMETERS, ...OPERATORS]) },
)

/** Metadata: Entity Type -> parameter -> value (never null: that is refused before any policy). */
export const metadata: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: objectOf(name(TYPES), objectOf(name(PARAMETERS), fc.oneof(strings, fc.string({ maxLength: 4 }), fc.integer())), 3) },
  { weight: 1, arbitrary: json(5, [...TYPES, ...PARAMETERS]) },
)

/** Mostly undefined, sometimes a value of `arb`. */
export const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb })

/** The value as it arrives from outside: through JSON text. */
export const asParsed = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T))
