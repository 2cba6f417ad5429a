/** The issuer's bookkeeping: one record per (type, subject), every issued instance remembered by hash. */
import { strict as assert } from 'node:assert'
import {
  withIssued, withRevoked, instanceStatus, recordStatus, tokenHash, markId, MAX_INSTANCES, EXPIRED_RETENTION,
} from '../../../src/trust_marks/records.js'

const T = 'https://federation.example.org/tm'
const S = 'https://rp.example.org'
const NOW = 1_800_000_000

describe('issued trust mark records', () => {
  it('keys records by type and subject', () => assert.equal(markId(T, S), `${T} ${S}`))

  it('appends an active instance per issuance and points at the latest mark', () => {
    const a = withIssued(undefined, { type: T, sub: S, token: 'a.b.c', iat: NOW, exp: NOW + 10 })
    const b = withIssued(a, { type: T, sub: S, token: 'd.e.f', iat: NOW + 1 })
    assert.deepEqual(b.instances.map((i) => i.hash), [tokenHash('a.b.c'), tokenHash('d.e.f')])
    assert.deepEqual([b.status, b.trust_mark, b.iat, b.exp], ['active', 'd.e.f', NOW + 1, undefined])
  })

  it('forgets instances long expired and keeps at most MAX_INSTANCES', () => {
    let r = withIssued(undefined, { type: T, sub: S, token: 'old', iat: NOW - EXPIRED_RETENTION - 20, exp: NOW - EXPIRED_RETENTION - 10 })
    r = withIssued(r, { type: T, sub: S, token: 'new', iat: NOW })
    assert.deepEqual(r.instances.map((i) => i.hash), [tokenHash('new')])
    for (let i = 0; i < MAX_INSTANCES + 5; i++) r = withIssued(r, { type: T, sub: S, token: `t${i}`, iat: NOW + i })
    assert.equal(r.instances.length, MAX_INSTANCES)
    assert.equal(r.instances.at(-1)!.hash, tokenHash(`t${MAX_INSTANCES + 4}`))
  })

  it('revokes every outstanding instance once, keeping the first revocation time', () => {
    const r = withRevoked(withIssued(withIssued(undefined, { type: T, sub: S, token: 'a', iat: NOW }), { type: T, sub: S, token: 'b', iat: NOW }), NOW + 5)
    assert.ok(r.instances.every((i) => i.revoked_at === NOW + 5))
    assert.equal(withRevoked(r, NOW + 9), r, 'already revoked: unchanged')
    const again = withIssued(r, { type: T, sub: S, token: 'c', iat: NOW + 10 })
    assert.deepEqual(again.instances.map((i) => instanceStatus(i, NOW + 10)), ['revoked', 'revoked', 'active'])
    assert.equal(recordStatus(again, NOW + 10), 'active')
  })

  it('reports revoked before expired, and expired from exp on', () => {
    assert.equal(instanceStatus({ exp: NOW, revoked_at: NOW - 5 }, NOW + 1), 'revoked')
    assert.equal(instanceStatus({ exp: NOW }, NOW), 'expired')
    assert.equal(instanceStatus({ exp: NOW }, NOW - 1), 'active')
    assert.equal(instanceStatus({}, NOW + 1e9), 'active')
  })
})
