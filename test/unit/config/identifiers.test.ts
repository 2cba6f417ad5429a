/** The configuration file holds its entity identifiers to the rule for what Anchorage stores and signs. */
import { strict as assert } from 'node:assert'
import { checkConfigFile, ConfigError, type ConfigFile } from '../../../src/config/load.js'

const KEY = { kty: 'EC', crv: 'P-256', kid: 'k', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }
const BASE: ConfigFile = { entity_id: 'https://ia.example' }

const refuses = (file: Record<string, unknown>, message: string, options: { allowHttp?: boolean } = {}) =>
  assert.throws(() => checkConfigFile({ ...BASE, ...file }, 'anchorage.json', options), (err: Error) => {
    assert.ok(err instanceof ConfigError, String(err))
    assert.equal(err.message, `anchorage.json: ${message}`)
    return true
  })

describe('configuration file: entity identifiers', () => {
  it('accepts canonical identifiers', () => {
    assert.doesNotThrow(() => checkConfigFile({ ...BASE, authority_hints: ['https://ta.example'], trust_anchor_hints: ['https://ta.example/fed'], trust_anchors: [{ entity_id: 'https://ta.example', jwks: { keys: [KEY] } }] }))
  })

  it('refuses a non-canonical entity_id, naming the canonical form', () => {
    refuses({ entity_id: 'https://IA.example/' }, 'entity_id: must be written in canonical form: did you mean https://ia.example')
    refuses({ entity_id: 'https://ia.example:443' }, 'entity_id: must be written in canonical form: did you mean https://ia.example')
  })

  it('refuses non-canonical authority_hints, trust_anchor_hints and trust_anchors, naming the entry', () => {
    refuses({ authority_hints: ['https://ta.example', 'https://ta.example/'] }, 'authority_hints[1]: must be written in canonical form: did you mean https://ta.example')
    refuses({ trust_anchor_hints: ['https://ta.example/a/../b'] }, 'trust_anchor_hints[0]: must not contain "." or ".." path segments')
    refuses({ trust_anchors: [{ entity_id: 'https://bücher.example', jwks: { keys: [KEY] } }] }, 'trust_anchors[0].entity_id: host must be ASCII (punycode): did you mean https://xn--bcher-kva.example')
  })

  it('refuses http identifiers in a production deployment unless http is allowed', () => {
    refuses({ authority_hints: ['http://ta.example'] }, 'authority_hints[0]: must be an https URL (http is allowed only in a development deployment or with outbound.allow_http)')
    assert.doesNotThrow(() => checkConfigFile({ ...BASE, authority_hints: ['http://ta.example'] }, 'anchorage.json', { allowHttp: true }))
    assert.doesNotThrow(() => checkConfigFile({ ...BASE, outbound: { allow_http: true }, authority_hints: ['http://ta.example'] }))
    assert.doesNotThrow(() => checkConfigFile({ entity_id: 'http://127.0.0.1:8080', development: true, authority_hints: ['http://127.0.0.1:8081'] }))
  })

  it('keeps the development rule for an http entity_id', () => {
    refuses({ entity_id: 'http://ia.example' }, 'entity_id: must be an https URL (set "development": true to allow http for local use)', { allowHttp: true })
  })
})
