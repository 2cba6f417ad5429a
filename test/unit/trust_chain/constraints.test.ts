/** Spec "Constraints": naming constraints, max_path_length, allowed_entity_types, and their syntax. */
import assert from 'node:assert/strict'
import {
  matchesDomainConstraint, namingViolation, checkChainConstraints, allowedEntityTypes, whoRemoves, checkConstraintsSyntax, hostOf,
} from '../../../src/trust_chain/constraints.js'
import { ChainError } from '../../../src/trust_chain/errors.js'
import type { Constraints } from '../../../src/types.js'

describe('trust_chain/constraints', () => {
  describe('domain name constraints (RFC 5280 4.2.1.10 as profiled by "Naming Constraints")', () => {
    const table: Array<[host: string, constraint: string, matches: boolean]> = [
      ['host.example.com', '.example.com', true],
      ['my.host.example.com', '.example.com', true],
      ['example.com', '.example.com', false],
      ['badexample.com', '.example.com', false],
      ['example.com', 'example.com', true],
      ['host.example.com', 'example.com', false],
      ['HOST.Example.COM'.toLowerCase(), '.EXAMPLE.com', true],
      ['example.com', 'example.com.', true],
      ['127.0.0.1', '127.0.0.1', true],
      ['127.0.0.1', '.0.0.1', false],
      ['example.org', '.example.com', false],
    ]
    for (const [host, c, expected] of table) {
      it(`${host} ${expected ? 'matches' : 'does not match'} ${c}`, () => {
        assert.equal(matchesDomainConstraint(host, c), expected)
      })
    }

    it('takes the host of an entity id, without port, path or case', () => {
      assert.equal(hostOf('https://OP.Example.com:8443/tenant/a'), 'op.example.com')
      assert.equal(hostOf('https://[::1]:8443'), '::1')
      assert.equal(hostOf('not a url'), '')
    })

    it('lets excluded win over permitted', () => {
      const nc = { permitted: ['.example.com'], excluded: ['east.example.com'] }
      assert.equal(namingViolation('https://west.example.com', nc), undefined)
      assert.match(namingViolation('https://east.example.com', nc)!, /is excluded by "east.example.com"/)
      assert.match(namingViolation('https://example.org', nc)!, /not within the permitted names/)
    })

    it('treats an absent or empty permitted list as permitting everything', () => {
      assert.equal(namingViolation('https://any.example', {}), undefined)
      assert.equal(namingViolation('https://any.example', { permitted: [] }), undefined)
    })
  })

  describe('max_path_length ("Max Path Length Constraint" examples)', () => {
    // LE <- I1 <- I2 <- TA: constraints[0] by I1 about LE, [1] by I2 about I1, [2] by TA about I2.
    const ids = ['https://le.example.com', 'https://i1.example.com', 'https://i2.example.com', 'https://ta.example.com']
    const labels = ['I1 -> LE', 'I2 -> I1', 'TA -> I2']
    const check = (c: Array<Constraints | undefined>) => checkChainConstraints(ids, c, labels)

    it('accepts TA max_path_length >= 2', () => check([undefined, undefined, { max_path_length: 2 }]))
    it('accepts TA 2, I2 1, I1 none', () => check([undefined, { max_path_length: 1 }, { max_path_length: 2 }]))
    it('accepts I1 0 with no other constraint', () => check([{ max_path_length: 0 }, undefined, undefined]))
    it('rejects TA max_path_length 1, naming the statement', () => {
      assert.throws(() => check([undefined, undefined, { max_path_length: 1 }]), (err: ChainError) =>
        err instanceof ChainError && err.rule === 'max_path_length' && err.statement === 'TA -> I2' && /2 intermediate\(s\)/.test(err.message))
    })
    it('rejects I2 max_path_length 0 (I1 lies between I2 and LE)', () => {
      assert.throws(() => check([undefined, { max_path_length: 0 }, undefined]), { rule: 'max_path_length', statement: 'I2 -> I1' })
    })

    it('applies naming constraints to the statement subject and everything below it, not above', () => {
      const c = [undefined, { naming_constraints: { excluded: ['i2.example.com'] } }, undefined]
      check(c) // I2 issued it; I2 itself is above
      assert.throws(() => check([undefined, { naming_constraints: { excluded: ['le.example.com'] } }, undefined]), { rule: 'naming_constraints', statement: 'I2 -> I1' })
    })
  })

  describe('allowed_entity_types ("Entity Type Constraints")', () => {
    it('intersects every statement that sets one; none means unconstrained', () => {
      assert.equal(allowedEntityTypes([undefined, {}]), undefined)
      assert.deepEqual(allowedEntityTypes([{ allowed_entity_types: ['openid_provider', 'oauth_client'] }, { allowed_entity_types: ['oauth_client'] }]), ['oauth_client'])
      assert.deepEqual(allowedEntityTypes([{ allowed_entity_types: [] }]), [])
    })
    it('names the statement that removes a type, never for federation_entity', () => {
      const c = [{ allowed_entity_types: ['oauth_client', 'openid_relying_party'] }, { allowed_entity_types: ['oauth_client'] }]
      assert.equal(whoRemoves('openid_relying_party', c, ['A', 'B']), 'B')
      assert.equal(whoRemoves('oauth_client', c, ['A', 'B']), undefined)
      assert.equal(whoRemoves('federation_entity', [{ allowed_entity_types: [] }], ['A']), undefined)
    })
  })

  describe('syntax ("Entity Statement Validation" step 19)', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[], /must be a JSON object/],
      [{ max_path_length: -1 }, /max_path_length/],
      [{ max_path_length: 1.5 }, /max_path_length/],
      [{ naming_constraints: { permitted: 'x' } }, /naming_constraints.permitted/],
      [{ allowed_entity_types: ['federation_entity'] }, /must not list federation_entity/],
      [{ allowed_entity_types: [1] }, /allowed_entity_types/],
    ]
    for (const [c, why] of bad) it(`rejects ${JSON.stringify(c)}`, () => assert.match(checkConstraintsSyntax(c)!, why))
    it('ignores constraint parameters it does not understand', () => {
      assert.equal(checkConstraintsSyntax({ x_custom: { anything: true }, max_path_length: 0 }), undefined)
    })
  })
})
