/**
 * Property-based: generated JSON with hostile member names (`__proto__`, `constructor`,
 * `prototype`, `toString`, `hasOwnProperty`, `valueOf` mixed with names the code looks for
 * and random ones, nested within limits.json_depth) thrown at
 *  - the policy engine (resolve, apply with the superior's metadata and allowed types, explain,
 *    the structural check): nothing but PolicyError;
 *  - the statement validator (parseStatement on unsigned statements): nothing but ChainError;
 *  - the admin body validators (ajv schemas, validateBody) and the onboarding route itself:
 *    nothing but InvalidRequest, never a 5xx;
 * and no intrinsic gains or loses a member. Fixed seed; HOSTILE_SEED / HOSTILE_RUNS explore further.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { applyMetadataPolicy, policyStructureErrors, resolvePolicies, PolicyError, PolicyExplanation, type Metadata, type PolicyStatement } from '../../src/metadata_policy/index.js'
import { parseStatement } from '../../src/trust_chain/entity_statement.js'
import { ChainError } from '../../src/trust_chain/errors.js'
import { validateBody } from '../../src/trust_marks/body.js'
import { FederationError } from '../../src/errors.js'
import { ManualClock } from '../../src/clock.js'
import { startEntity, testKey, type TestEntity, type TestKey } from '../support/federation.js'
import { assertIntrinsicsUnchanged, snapshotIntrinsics } from './intrinsics.js'
import { OPERATORS, PROTO_NAMES, asParsed, json, metadata, name, objectOf, policy, rarely } from './arbitraries.js'

const SEED = Number(process.env.HOSTILE_SEED ?? 2024)
const RUNS = Number(process.env.HOSTILE_RUNS ?? 300)
const ISS = 'https://ia.example'
const SUB = 'https://leaf.example'
const CLAIMS = ['iss', 'sub', 'iat', 'exp', 'jwks', 'metadata', 'metadata_policy', 'metadata_policy_crit', 'constraints', 'crit', 'authority_hints', 'trust_marks', 'trust_mark_issuers', 'trust_mark_owners', 'source_endpoint']
const CONSTRAINTS = ['max_path_length', 'naming_constraints', 'allowed_entity_types', 'permitted', 'excluded']
const ADMIN_SCHEMAS = ['subordinate', 'subordinate_patch', 'key_rotate', 'key_retire', 'trust_mark_type', 'trust_mark_request', 'trust_mark_delegation', 'trust_mark_issuers', 'trust_mark_owners', 'trust_mark_own']

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const options = { seed: SEED, numRuns: RUNS }

/** `base` with `extra`'s defined members set over it as own members (`__proto__` too). */
function withMembers(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const o of [base, extra]) {
    for (const k of Object.keys(o)) if (o[k] !== undefined) Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true })
  }
  return out
}

describe('hostile: property-based hostile JSON', () => {
  let key: TestKey
  before(async () => {
    key = await testKey()
  })

  it('the policy engine throws nothing but PolicyError and leaves the intrinsics alone', () => {
    const statement = fc.record({ policy, crit: rarely(fc.array(name([...OPERATORS, 'regexp']), { maxLength: 2 })) })
    const types = fc.option(fc.array(name(['openid_relying_party', 'federation_entity']), { maxLength: 3 }), { nil: undefined })
    let applied = 0
    fc.assert(fc.property(fc.array(statement, { minLength: 1, maxLength: 3 }), metadata, fc.option(metadata, { nil: undefined }), types, (statements, leaf, superior, allowed) => {
      const before = snapshotIntrinsics()
      const explain = new PolicyExplanation()
      try {
        policyStructureErrors(asParsed(statements[0]!.policy))
        const resolved = resolvePolicies(asParsed(statements) as PolicyStatement[], { explain })
        const out = applyMetadataPolicy(asParsed(leaf) as Metadata, { policy: resolved, superiorMetadata: asParsed(superior) as Metadata | undefined, allowedEntityTypes: allowed, explain })
        assert.equal(typeof JSON.stringify(out), 'string')
        applied++
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err
        explain.failed(err)
      }
      explain.toText()
      assertIntrinsicsUnchanged(before)
    }), options)
    // Not vacuous: a good share of the generated chains resolve and apply.
    assert.ok(applied > RUNS / 10, `only ${applied} of ${RUNS} applied`)
  })

  it('the statement validator throws nothing but ChainError and leaves the intrinsics alone', () => {
    const header = objectOf(name(['typ', 'alg', 'kid', 'trust_chain']), json(3)).map((h) => withMembers(h, fc.sample(fc.constant({ typ: 'entity-statement+jwt', alg: 'ES256', kid: 'k1' }), 1)[0]!))
    const claims = fc.record({
      hostile: objectOf(name(), json(4, CLAIMS)),
      claims: rarely(objectOf(name(CLAIMS), json(3, CLAIMS))),
      valid: fc.boolean(),
      metadata: fc.option(metadata, { nil: undefined }),
      metadata_policy: fc.option(policy, { nil: undefined }),
      constraints: fc.option(fc.oneof(objectOf(name(CONSTRAINTS), fc.oneof(fc.nat(3), fc.array(fc.constantFrom('x.example', '.example', '__proto__'), { maxLength: 2 }), json(2, CONSTRAINTS))), json(3)), { nil: undefined }),
      jwks: rarely(json(4, ['keys', 'kty', 'kid', 'crv', 'x', 'y'])),
    })
    const kind = fc.constantFrom('entity_configuration' as const, 'subordinate_statement' as const)
    let parsed = 0
    fc.assert(fc.property(header, claims, kind, fc.boolean(), (h, c, k, plainHeader) => {
      const before = snapshotIntrinsics()
      const iss = k === 'entity_configuration' ? SUB : ISS
      const base = c.valid ? { iss, sub: SUB, iat: 1, exp: 2, jwks: { keys: [key.publicJwk] } } : {}
      // Hostile names first, then (mostly) well-formed claims of the kind, then rarely anything.
      const own = k === 'entity_configuration' ? { metadata: c.metadata } : { metadata: c.metadata, metadata_policy: c.metadata_policy, constraints: c.constraints }
      const payload = withMembers(withMembers(withMembers(c.hostile, base), own), { ...c.claims, jwks: c.jwks })
      const jwt = `${enc(plainHeader ? { typ: 'entity-statement+jwt', alg: 'ES256', kid: 'k1' } : h)}.${enc(payload)}.c2ln`
      try {
        parseStatement(jwt, k, iss, SUB)
        parsed++
      } catch (err) {
        if (!(err instanceof ChainError)) throw err
      }
      assertIntrinsicsUnchanged(before)
    }), options)
    assert.ok(parsed > RUNS / 20, `only ${parsed} of ${RUNS} parsed`)
  })

  it('the admin body validators throw nothing but InvalidRequest and leave the intrinsics alone', () => {
    const body = fc.oneof(objectOf(name(['entity_id', 'jwks', 'metadata', 'metadata_policy', 'alg', 'reason', 'trust_mark_type', 'sub', 'keys']), json(4)), json(5))
    fc.assert(fc.property(fc.constantFrom(...ADMIN_SCHEMAS), body, (schema, b) => {
      const before = snapshotIntrinsics()
      try {
        validateBody(schema, asParsed(b))
      } catch (err) {
        assert.ok(err instanceof FederationError && err.error === 'invalid_request', String(err))
        assert.match(err.message, /^\S/)
      }
      assertIntrinsicsUnchanged(before)
    }), options)
  })

  describe('through the admin API', () => {
    const clock = new ManualClock()
    let e: TestEntity
    before(async () => {
      e = await startEntity({ clock })
    })
    after(async () => {
      await e?.stop()
    })

    it('onboarding and patching answer 201/200 or 400 invalid_request to hostile bodies, never a 5xx, and pollute nothing', async () => {
      let n = 0
      let accepted = 0
      const fields = fc.record({
        hostile: rarely(objectOf(name(['entity_types', 'intermediate', 'crit', 'metadata_policy_crit', 'source_endpoint']), json(3))),
        metadata: fc.option(metadata, { nil: undefined }),
        metadata_policy: fc.option(policy, { nil: undefined }),
        constraints: fc.option(objectOf(name(CONSTRAINTS), json(3, CONSTRAINTS)), { nil: undefined }),
        crit: rarely(fc.array(fc.constantFrom(...PROTO_NAMES, 'metadata'), { maxLength: 2 })),
      })
      await fc.assert(fc.asyncProperty(fields, fields, async (f, patch) => {
        const before = snapshotIntrinsics()
        const id = `https://m${++n}.example`
        const body = withMembers(withMembers(f.hostile ?? {}, { entity_id: id, jwks: { keys: [key.publicJwk] } }), { metadata: f.metadata, metadata_policy: f.metadata_policy, constraints: f.constraints, crit: f.crit })
        const added = await e.admin('POST', '/admin/subordinates', JSON.stringify(body))
        assert.ok(added.status === 201 || (added.status === 400 && added.body.error === 'invalid_request'), `${added.status} ${JSON.stringify(added.body)}`)
        if (added.status === 201) {
          accepted++
          assert.equal((await e.get(`/fetch?sub=${encodeURIComponent(id)}`)).status, 200)
          const p = withMembers(patch.hostile ?? {}, { metadata: patch.metadata, metadata_policy: patch.metadata_policy, constraints: patch.constraints })
          const patched = await e.admin('PATCH', `/admin/subordinates/${encodeURIComponent(id)}`, JSON.stringify(p))
          assert.ok(patched.status === 200 || (patched.status === 400 && patched.body.error === 'invalid_request'), `${patched.status} ${JSON.stringify(patched.body)}`)
        }
        assertIntrinsicsUnchanged(before)
      }), options)
      assert.ok(accepted > RUNS / 20, `only ${accepted} of ${RUNS} accepted`)
    })
  })
})
