/**
 * Defence in depth for the `anchorage` process (docs/architecture.md, "Hostile input"): the
 * intrinsics every object, array and function inherits from are frozen before any other
 * module loads, so that even a merge that slipped past own-property semantics could not add
 * a member to Object.prototype (and so to every object in the process).
 *
 * Only the CLI entry (run.ts, through frozen.ts) does this, first. Library users and the test
 * process keep ordinary intrinsics: tests must observe pollution if the code regressed.
 *
 * Freezing makes inherited members read-only, and assigning a read-only inherited member
 * throws even on another object (the "override mistake"): ipaddr.js sets
 * `IPv4.prototype.toString = …` when it loads. The few members libraries are known to
 * shadow this way (OVERRIDABLE) become accessors first, whose setter gives the assigned
 * object its own member, as SES does; assigning them on the intrinsic itself still throws.
 * Run against it: serve, resolve, onboarding, key rotation, trust marks, registration and
 * tokens, KEK, MongoDB (the CLI tests). Not frozen: Error.prototype (every `this.name = …`
 * in an Error subclass assigns the inherited `name`), and classes libraries extend.
 */
/** The frozen objects, by name, for the start-up line and tests. */
export const FROZEN_INTRINSICS: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Object', Object],
  ['Array.prototype', Array.prototype],
  ['Array', Array],
  ['JSON', JSON],
]

/**
 * Members objects commonly define over the inherited ones: kept assignable on other objects.
 * Few on purpose: an accessor is read on every use (`fn.bind`, `fn.call` as accessors slowed
 * koa's middleware dispatch), and the dependencies only assign `toString` (ipaddr.js).
 */
const OVERRIDABLE = ['toString', 'toLocaleString', 'valueOf']

/**
 * `constructor` only where old-style inheritance assigns it (`Child.prototype.constructor =
 * Child` reaches Object.prototype). An accessor on Array.prototype.constructor (or RegExp's,
 * Promise's) would disable V8's species fast paths: map/filter/slice ran 50 % slower.
 */
const CONSTRUCTOR_OVERRIDABLE = new Set<object>([Object.prototype, Function.prototype])

export function freezeIntrinsics(): void {
  for (const [name, o] of FROZEN_INTRINSICS) {
    if (Object.isFrozen(o)) continue
    for (const key of OVERRIDABLE) allowOverride(name, o, key)
    if (CONSTRUCTOR_OVERRIDABLE.has(o)) allowOverride(name, o, 'constructor')
    Object.freeze(o)
  }
}

/** `o[key]` as an accessor: reads give the member, assignments on other objects make their own. */
function allowOverride(name: string, o: object, key: string): void {
  const d = Object.getOwnPropertyDescriptor(o, key)
  if (!d || !('value' in d) || !d.configurable) return
  const value: unknown = d.value
  Object.defineProperty(o, key, {
    configurable: false,
    enumerable: d.enumerable ?? false,
    get: () => value,
    set(this: object, v: unknown) {
      if (this === o) throw new TypeError(`Cannot assign to read only property '${key}' of ${name} (frozen)`)
      Object.defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true })
    },
  })
}

/** True when every intrinsic of the list is frozen (the start-up line says so). */
export function intrinsicsFrozen(): boolean {
  return FROZEN_INTRINSICS.every(([, o]) => Object.isFrozen(o))
}
