/** Assertions shared by the metadata policy tests. */
import strict from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { PolicyError, type PolicyErrorCode } from '../../../src/metadata_policy/index.js'

/**
 * The engine builds its objects without a prototype (member names come from outside; see
 * metadata_policy/json.ts), so equality here is over JSON members: `plain` rebuilds a value
 * with ordinary objects, keeping a member named `__proto__` as a member.
 */
export function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain)
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plain((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
  return out
}

/** node:assert/strict, with deepEqual over JSON members (prototypes are not compared). */
export const assert: typeof strict = Object.assign(
  (value: unknown, message?: string | Error): asserts value => strict(value, message),
  strict,
  { deepEqual: (actual: unknown, expected: unknown, message?: string | Error): void => strict.deepEqual(plain(actual), plain(expected), message) },
)

/** Runs fn, expecting a PolicyError with `code` whose message contains every fragment. */
export function expectPolicyError(fn: () => unknown, code: PolicyErrorCode, ...fragments: string[]): PolicyError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  strict.ok(caught instanceof PolicyError, `expected a PolicyError, got ${caught === undefined ? 'no error' : caught instanceof Error ? `${caught.name}: ${caught.message}` : JSON.stringify(caught)}`)
  assert.equal(caught.error, code, caught.message)
  for (const f of fragments) assert.ok(caught.message.includes(f), `"${caught.message}" should mention ${f}`)
  return caught
}

/**
 * Deep equality where arrays compare as sets: the spec leaves the order of merged values
 * undefined ("Metadata Policy > Operators"), and the spec's own examples list them in varied orders.
 */
export function assertSetEqual(actual: unknown, expected: unknown, path = '$'): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`)
    assert.equal(actual.length, expected.length, `${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`)
    for (const e of expected) {
      assert.ok(actual.some((a) => isSetEqual(a, e)), `${path}: ${JSON.stringify(e)} missing from ${JSON.stringify(actual)}`)
    }
    return
  }
  if (typeof expected === 'object' && expected !== null) {
    assert.ok(typeof actual === 'object' && actual !== null && !Array.isArray(actual), `${path}: expected an object`)
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: members differ`)
    for (const k of Object.keys(expected)) {
      assertSetEqual((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`)
    }
    return
  }
  assert.equal(actual, expected, path)
}

function isSetEqual(a: unknown, b: unknown): boolean {
  try {
    assertSetEqual(a, b)
    return true
  } catch {
    return false
  }
}

export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/metadata_policy/${name}`, import.meta.url), 'utf8')) as T
}
