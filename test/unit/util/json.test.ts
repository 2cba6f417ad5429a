/**
 * The one reader of outside JSON (src/util/json.ts): depth measured by a linear scan
 * before JSON.parse (brackets inside strings do not count), size, syntax; and the JWT
 * decoder that uses it for every header and payload from outside.
 */
import { strict as assert } from 'node:assert'
import { decodeUnverified, JwtError } from '../../../src/crypto/jwt.js'
import { depthBeyond, JsonError, own, ownView, parseJson } from '../../../src/util/json.js'

const enc = (text: string) => Buffer.from(text).toString('base64url')

function reason(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    if (err instanceof JsonError || err instanceof JwtError) return err.reason
    throw err
  }
}

describe('util/json: the reader of outside JSON', () => {
  it('measures nesting depth: scalars 0, each array or object one level', () => {
    assert.equal(depthBeyond('1', 0), undefined)
    assert.equal(depthBeyond('{}', 0), 1)
    assert.equal(depthBeyond('{"a":[{"b":[]}]}', 4), undefined)
    assert.equal(depthBeyond('{"a":[{"b":[]}]}', 3), 4)
    assert.equal(depthBeyond('[[],[],[[]]]', 2), 3)
  })

  it('does not count brackets inside strings, with escaped quotes and backslashes', () => {
    assert.equal(depthBeyond('{"a":"[[[[{{{{"}', 1), undefined)
    assert.equal(depthBeyond('{"a":"x\\"[[[[","b":"\\\\"}', 1), undefined)
    assert.equal(depthBeyond('{"a":"\\\\","b":[[]]}', 2), 3)
  })

  it('refuses a megabyte of [[[[ at the first level past the limit, without recursion', () => {
    const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000)
    assert.equal(depthBeyond(text, 64), 65)
    assert.equal(reason(() => parseJson(text)), 'depth')
    assert.equal(reason(() => parseJson('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))), 'depth')
  })

  it('parses documents within the limits; refuses others naming size, depth or syntax', () => {
    assert.deepEqual(parseJson(`{"a":${'['.repeat(63)}${']'.repeat(63)}}`), { a: JSON.parse('['.repeat(63) + ']'.repeat(63)) })
    assert.equal(reason(() => parseJson(`{"a":${'['.repeat(64)}${']'.repeat(64)}}`)), 'depth')
    assert.equal(reason(() => parseJson('[1,2', { maxDepth: 64 })), 'syntax')
    assert.equal(reason(() => parseJson('"ééé"', { maxDepth: 64, maxBytes: 6 })), 'size')
    assert.equal(parseJson('"ééé"', { maxDepth: 64, maxBytes: 8 }), 'ééé')
  })

  it('keeps a member named __proto__ as data and reads only own members', () => {
    const v = parseJson('{"__proto__":{"polluted":1},"toString":"x"}') as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(v), Object.prototype)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.deepEqual(own(v, '__proto__'), { polluted: 1 })
    assert.equal(own({}, 'toString'), undefined)
    assert.equal(own({}, 'constructor'), undefined)
    const view = ownView(v)
    assert.equal(Object.getPrototypeOf(view), null)
    assert.deepEqual(view.__proto__, { polluted: 1 })
    assert.equal(view.constructor, undefined)
    assert.equal(JSON.stringify(view), '{"__proto__":{"polluted":1},"toString":"x"}')
  })
})

describe('crypto/jwt decodeUnverified: outside headers and payloads', () => {
  it('decodes header and payload as objects', () => {
    const { header, payload } = decodeUnverified(`${enc('{"alg":"ES256"}')}.${enc('{"iss":"a"}')}.sig`)
    assert.equal(header.alg, 'ES256')
    assert.equal(payload.iss, 'a')
  })

  it('refuses a payload or header nested beyond the limit with reason "depth"', () => {
    assert.equal(reason(() => decodeUnverified(`${enc('{}')}.${enc(`{"a":${'['.repeat(2_000)}${']'.repeat(2_000)}}`)}.s`)), 'depth')
    assert.equal(reason(() => decodeUnverified(`${enc(`{"a":${'['.repeat(64)}${']'.repeat(64)}}`)}.${enc('{}')}.s`)), 'depth')
    assert.equal(reason(() => decodeUnverified(`${enc('{}')}.${enc(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`)}.s`, { maxDepth: 128 })), undefined)
  })

  it('refuses what is not a compact JWS of two JSON objects as "malformed"', () => {
    for (const token of ['a.b', `${enc('{}')}.${enc('[]')}.s`, `${enc('{}')}.${enc('1')}.s`, `${enc('{}')}.${enc('{')}.s`, `${enc('{}')}.!!.s`, `.${enc('{}')}.s`]) {
      assert.equal(reason(() => decodeUnverified(token)), 'malformed', token)
    }
  })
})
