/** Assertions shared by the metadata policy tests. */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { PolicyError, type PolicyErrorCode } from '../../../src/metadata_policy/index.js'

/** Runs fn, expecting a PolicyError with `code` whose message contains every fragment. */
export function expectPolicyError(fn: () => unknown, code: PolicyErrorCode, ...fragments: string[]): PolicyError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof PolicyError, `expected a PolicyError, got ${caught === undefined ? 'no error' : String(caught)}`)
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
