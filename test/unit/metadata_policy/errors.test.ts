/** PolicyError and its mapping to the wire error codes of the spec's "Error Responses". */
import { assert } from './helpers.js'
import { FederationError } from '../../../src/errors.js'
import { PolicyError } from '../../../src/metadata_policy/index.js'

describe('metadata policy: PolicyError', () => {
  it('maps invalid_policy to invalid_trust_chain and invalid_metadata to invalid_metadata', () => {
    const p = new PolicyError('invalid_policy', 'the intersection is empty', { statement: 'statement #1', entityType: 't', parameter: 'p', operator: 'one_of' })
    const m = new PolicyError('invalid_metadata', 'the parameter is essential but absent', { entityType: 't', parameter: 'p', operator: 'essential' })
    assert.equal(p.toWireCode(), 'invalid_trust_chain')
    assert.equal(m.toWireCode(), 'invalid_metadata')
    const fe = p.toFederationError()
    assert.ok(fe instanceof FederationError)
    assert.equal(fe.error, 'invalid_trust_chain')
    assert.equal(fe.status, 400)
    assert.equal(fe.cause, p)
    assert.equal(m.toFederationError().status, 400)
  })

  it('puts the location in the message and keeps the parts', () => {
    const e = new PolicyError('invalid_policy', 'bad', { statement: 'statement #1', entityType: 't', parameter: 'p', operator: 'one_of' })
    assert.equal(e.message, 'metadata_policy of statement #1, "t.p", operator "one_of": bad')
    assert.equal(e.reason, 'bad')
    assert.deepEqual([e.statement, e.entityType, e.parameter, e.operator], ['statement #1', 't', 'p', 'one_of'])
    assert.deepEqual(e.toJSON(), { error: 'invalid_policy', error_description: e.message })
    assert.equal(new PolicyError('invalid_metadata', 'x', { parameter: 'p' }).message, 'parameter "p": x')
    assert.equal(e.name, 'PolicyError')
  })
})
