/**
 * Property: whatever the admin API accepts, Anchorage's own resolver accepts.
 *
 *   TA (Anchorage, development deployment, resolves as its own anchor)
 *    |   POST /admin/subordinates with a generated body (valid and hostile)
 *   MEMBERS (one loopback server; member n is http://127.0.0.1:PORT/m<n>, serving an entity
 *            configuration signed with the private half of the first key it was onboarded with)
 *
 * For every generated body: 201 => GET /resolve?sub=<member>&trust_anchor=<TA> answers 200;
 * otherwise 400 invalid_request whose description starts with a field of the body; and
 * every body carrying a known defect (private key member, duplicate kid, key without
 * material, bad coordinates, wrong alg, null metadata value, non-canonical identifier,
 * javascript: source endpoint, ...) is refused. Fixed seed, so a failure is reproducible;
 * PROPERTY_SEED and PROPERTY_RUNS explore further (e.g. PROPERTY_RUNS=2000 for a long run).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { generateKeyPair, exportJWK, importJWK, type JWK } from 'jose'
import { startEntity, resolveAt, type TestEntity } from '../support/federation.js'
import { signStatement, type TestKey } from '../support/entity.js'
import { applyPolicy, type ParameterPolicy } from '../../src/metadata_policy/index.js'

const SEED = Number(process.env.PROPERTY_SEED ?? 1312)
const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)

/** One key of the pool: its public JWK (no kid/alg) and its private JWK, imported per alg on demand. */
interface PoolKey {
  pub: JWK
  priv: JWK
  defaultAlg: string
  algs: string[]
}

async function pool(): Promise<PoolKey[]> {
  const make = async (alg: string, algs: string[], opts: Record<string, unknown> = {}): Promise<PoolKey> => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...opts })
    return { pub: await exportJWK(publicKey), priv: await exportJWK(privateKey), defaultAlg: alg, algs }
  }
  return Promise.all([
    make('ES256', ['ES256']), make('ES256', ['ES256']), make('ES384', ['ES384']),
    make('RS256', ['RS256', 'PS256', 'RS384']), make('EdDSA', ['EdDSA'], { crv: 'Ed25519' }),
  ])
}

type Defect = 'private' | 'duplicate_kid' | 'no_kid' | 'no_material' | 'bad_coordinate' | 'hs256' | 'wrong_alg' | 'off_curve'
const DEFECTS: Defect[] = ['private', 'duplicate_kid', 'no_kid', 'no_material', 'bad_coordinate', 'hs256', 'wrong_alg', 'off_curve']

const TYPES = ['openid_relying_party', 'openid_provider', 'federation_entity', 'oauth_client', '__proto__', 'constructor', 'x_type']
const PARAMS = ['client_name', 'contacts', 'grant_types', 'response_types', 'token_endpoint_auth_method', '__proto__', 'constructor', 'toString', 'x_param']
const WORDS = ['a', 'b', 'code', 'x']
const OPERATORS = ['value', 'add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential', 'regexp', '__proto__']

const words = fc.uniqueArray(fc.constantFrom(...WORDS), { maxLength: 3 })
const plainValue = fc.oneof(fc.constantFrom(...WORDS), words, fc.integer({ min: -2, max: 5 }), fc.boolean(), fc.constant({ a: 'b' }))
const anyOperand = fc.oneof(words, fc.constantFrom(...WORDS), fc.boolean(), fc.constant(null), fc.integer({ min: 0, max: 3 }))
const someWords = fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 })
/** Mostly an operand of the operator's type, sometimes anything (a type error the policy check must catch). */
const OPERANDS: Record<string, fc.Arbitrary<unknown>> = {
  value: fc.oneof(someWords, fc.constantFrom(...WORDS)), add: someWords, default: fc.oneof(someWords, fc.constantFrom(...WORDS)),
  one_of: someWords, subset_of: someWords, superset_of: someWords, essential: fc.boolean(), regexp: fc.constant('^a'), __proto__: anyOperand,
}
const operatorEntry = fc.oneof(...OPERATORS.map((op) => fc.tuple(fc.constant(op), fc.oneof({ weight: 7, arbitrary: OPERANDS[op]! }, { weight: 1, arbitrary: anyOperand }))))
const parameterPolicy = fc.array(operatorEntry, { minLength: 1, maxLength: 3 }).map((entries) => Object.fromEntries(entries) as Record<string, unknown>)

/** Objects built from entries, so "__proto__" and "constructor" become own properties as JSON.parse makes them. */
const object = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxLength: number) =>
  fc.array(fc.tuple(key, value), { maxLength }).map((entries) => Object.fromEntries(entries) as Record<string, T>)

const metadataArb = object(fc.constantFrom(...TYPES), object(fc.constantFrom(...PARAMS), fc.oneof({ weight: 9, arbitrary: plainValue }, { weight: 1, arbitrary: fc.constant(null) }), 3), 3)
const nonEmpty = <T>(arb: fc.Arbitrary<Record<string, T>>) => arb.filter((o) => Object.keys(o).length > 0)
const policyArb = nonEmpty(object(fc.constantFrom(...TYPES), nonEmpty(object(fc.constantFrom(...PARAMS), parameterPolicy, 2)), 2))

/** `arb` about once in `n` draws, else null (absent from the body). */
const oneIn = <T>(n: number, arb: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary: arb }, { weight: n - 1, arbitrary: fc.constant(null) })

const bodyArb = fc.record({
  keys: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
  kids: fc.uniqueArray(fc.constantFrom('k1', 'k2', 'k3', '__proto__', 'constructor', 'toString'), { minLength: 3, maxLength: 3 }),
  withAlg: fc.boolean(),
  defect: oneIn(4, fc.record({ what: fc.constantFrom(...DEFECTS), at: fc.nat(), member: fc.constantFrom('d', 'p', 'q', 'dp', 'dq', 'qi') })),
  metadata: oneIn(2, metadataArb),
  metadata_policy: oneIn(2, policyArb),
  metadata_policy_crit: oneIn(8, fc.constantFrom(['regexp'], ['one_of'])),
  constraints: oneIn(3, fc.record({
    max_path_length: fc.integer({ min: -1, max: 3 }),
    naming_constraints: fc.record({ permitted: fc.uniqueArray(fc.constantFrom('127.0.0.1', '.example.org')), excluded: fc.uniqueArray(fc.constantFrom('127.0.0.1', '.example.com')) }),
    allowed_entity_types: fc.uniqueArray(fc.constantFrom('openid_relying_party', 'openid_provider', 'oauth_client', 'federation_entity'), { minLength: 1, maxLength: 2 }),
  }, { requiredKeys: [] })),
  crit: oneIn(10, fc.constantFrom(['jwks'], ['x_extension'])),
  source_endpoint: oneIn(3, fc.constantFrom('https://ta.example/fetch', 'http://ta.example/fetch', 'javascript:alert(1)', 'https://ta.example/fetch#f')),
  identifier: oneIn(5, fc.constantFrom('trailing_slash', 'upper_scheme', 'zero_port', 'octal_host', 'dot_segment', 'encoded_dot_segment', 'query', 'fragment', 'userinfo', 'space', 'tab', 'backslash')),
})
type Body = typeof bodyArb extends fc.Arbitrary<infer T> ? T : never

describe('property: every member the admin API accepts resolves through Anchorage\'s own resolver', function () {
  this.timeout(60_000)
  let ta: TestEntity
  let keys: PoolKey[]
  const members = new Map<string, { claims: Record<string, unknown>; key: TestKey }>()
  let server: http.Server
  let base: string

  before(async () => {
    ;[ta, keys] = await Promise.all([startEntity(), pool()])
    server = http.createServer((req, res) => {
      const m = members.get((req.url ?? '').replace(/\/\.well-known\/openid-federation$/, ''))
      if (!m) return void res.writeHead(404).end()
      const now = ta.clock.now()
      void signStatement({ iat: now, exp: now + 3600, ...m.claims }, m.key).then((jwt) => {
        res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server?.closeAllConnections()
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
    await ta?.stop()
  })

  it('holds for generated valid and hostile onboarding bodies (fixed seed)', async () => {
    let n = 0
    const outcome = { accepted: 0, refused: 0 }
    await fc.assert(fc.asyncProperty(bodyArb, async (b) => {
      const path = `/m${n++}`
      const id = base + path
      const { body, jwks, mustRefuse } = build(b, id, keys)
      const signer = jwks.keys[0]!
      const poolKey = keys[b.keys[0]!]!
      const alg = typeof signer.alg === 'string' && poolKey.algs.includes(signer.alg) ? signer.alg : poolKey.defaultAlg
      members.set(path, {
        claims: { iss: id, sub: id, jwks, authority_hints: [ta.entityId], metadata: leafMetadata(b) },
        key: { kid: String(signer.kid), alg, privateKey: (await importJWK(poolKey.priv, alg)) as TestKey['privateKey'], publicJwk: signer },
      })
      const r = await ta.admin('POST', '/admin/subordinates', body)
      if (r.status === 201) {
        outcome.accepted++
        assert.equal(mustRefuse, undefined, `accepted a body with a known defect (${mustRefuse}): ${JSON.stringify(body)}`)
        // One second per discovery keeps this single client inside resolver.discoveries_per_minute.
        ta.clock.advance(1)
        const resolved = await resolveAt(ta, { sub: body.entity_id as string, trust_anchor: ta.entityId })
        assert.equal(resolved.status, 200, `accepted ${JSON.stringify(body)} but the resolver answered ${resolved.text}`)
        assert.equal(resolved.payload?.sub, body.entity_id)
      } else {
        outcome.refused++
        assert.equal(r.status, 400, JSON.stringify(r.body))
        assert.equal(r.body.error, 'invalid_request')
        const field = /^([a-z_]+)[.[:]/.exec(r.body.error_description)?.[1]
        assert.ok(field !== undefined && Object.hasOwn(body, field), `"${r.body.error_description}" does not name a field of ${JSON.stringify(body)}`)
      }
    }), { seed: SEED, numRuns: RUNS, endOnFailure: true })
    // Not vacuous: both sides of the property were exercised.
    assert.ok(outcome.accepted >= 10 && outcome.refused >= 10, JSON.stringify(outcome))
  })
})

/** The request body, the clean JWK Set the member publishes, and the defect it must be refused for (if any). */
function build(b: Body, id: string, pool: PoolKey[]): { body: Record<string, unknown>; jwks: { keys: JWK[] }; mustRefuse?: string } {
  const published = b.keys.map((i, j) => ({ ...pool[i]!.pub, kid: b.kids[j]!, ...(b.withAlg ? { alg: pool[i]!.defaultAlg } : {}) }))
  const sent = published.map((k) => ({ ...k }))
  let mustRefuse: string | undefined
  if (b.defect) {
    mustRefuse = b.defect.what
    applyDefect(sent, b.defect, pool, b.keys)
  }
  const body: Record<string, unknown> = { entity_id: identifier(id, b.identifier), jwks: { keys: sent } }
  if (b.identifier) mustRefuse ??= `identifier ${b.identifier}`
  for (const f of ['metadata', 'metadata_policy', 'metadata_policy_crit', 'crit', 'source_endpoint'] as const) {
    if (b[f] !== null) body[f] = b[f]
  }
  if (b.constraints !== null) body.constraints = b.constraints
  mustRefuse ??= knownDefect(b)
  return { body, jwks: { keys: published }, ...(mustRefuse ? { mustRefuse } : {}) }
}

function applyDefect(sent: JWK[], d: NonNullable<Body['defect']>, pool: PoolKey[], indexes: number[]): void {
  const i = d.at % sent.length
  const k = sent[i] as Record<string, unknown>
  const p = pool[indexes[i]!]!
  const material = k.kty === 'RSA' ? 'n' : 'x'
  switch (d.what) {
    case 'private': k[k.kty === 'RSA' ? d.member : 'd'] = (p.priv as Record<string, unknown>)[k.kty === 'RSA' ? d.member : 'd']; break
    case 'duplicate_kid': sent.push({ ...sent[0]!, ...pool[(indexes[0]! + 1) % pool.length]!.pub, kid: sent[0]!.kid! }); break
    case 'no_kid': delete k.kid; break
    case 'no_material': delete k[material]; break
    case 'bad_coordinate': k[material] = '!!!'; break
    case 'hs256': k.alg = 'HS256'; break
    case 'wrong_alg': k.alg = k.kty === 'EC' && k.crv === 'P-256' ? 'ES384' : 'ES256'; break
    case 'off_curve': if (k.kty === 'RSA') k.n = 'AQAB'; else k.x = Buffer.alloc(k.crv === 'P-384' ? 48 : 32, 7).toString('base64url'); break
  }
}

/** Defects outside the keys and the identifier that the generator knows must be refused. */
function knownDefect(b: Body): string | undefined {
  for (const params of Object.values(b.metadata ?? {})) if (Object.values(params).includes(null)) return 'null metadata value'
  if (b.crit) return 'crit'
  if (b.source_endpoint === 'javascript:alert(1)' || b.source_endpoint?.includes('#')) return 'source_endpoint'
  if (b.metadata_policy_crit) return 'metadata_policy_crit'
  const c = b.constraints
  if (c?.max_path_length !== undefined && c.max_path_length < 0) return 'max_path_length'
  if (c?.allowed_entity_types?.includes('federation_entity')) return 'allowed_entity_types'
  const nc = c?.naming_constraints
  if (nc && (nc.excluded.includes('127.0.0.1') || (nc.permitted.length > 0 && !nc.permitted.includes('127.0.0.1')))) return 'naming_constraints'
  return undefined
}

function identifier(id: string, form: Body['identifier']): string {
  const u = new URL(id)
  const rest = `${u.port}${u.pathname}`
  switch (form) {
    case null: return id
    case 'trailing_slash': return `${u.origin}/`
    case 'upper_scheme': return id.replace('http:', 'HTTP:')
    case 'zero_port': return `http://127.0.0.1:0${rest}`
    case 'octal_host': return `http://127.000.000.001:${rest}`
    case 'dot_segment': return `${u.origin}/x/..${u.pathname}`
    case 'encoded_dot_segment': return `${u.origin}/x/%2e%2e${u.pathname}`
    case 'query': return `${id}?a=1`
    case 'fragment': return `${id}#f`
    case 'userinfo': return `http://user@127.0.0.1:${rest}`
    case 'space': return `${id} `
    case 'tab': return `${u.origin}/\t${u.pathname.slice(1)}`
    case 'backslash': return `${u.origin}\\${u.pathname.slice(1)}`
  }
}

/**
 * The member's own metadata: every entity type the statement speaks of, holding for each
 * policed parameter a value the policy accepts (tried with the policy engine), so that a
 * refusal by the resolver can only come from the statement itself (what onboarding must
 * catch), not from this test's member. A type whose policy no value satisfies is left out.
 */
function leafMetadata(b: Body): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  const policy = b.metadata_policy ?? {}
  for (const t of ['federation_entity', ...Object.keys(b.metadata ?? {}), ...Object.keys(policy)]) {
    // Known gap of the policy engine, owned elsewhere: metadata_policy/metadata.ts reads
    // policy[entityType] and the superior's metadata[entityType] without own-property
    // semantics, so a member whose own metadata has a "constructor" entity type meets
    // Object's constructor. That is the member's metadata, not the statement: the statement
    // keeps its hostile names, the member publishes none.
    if (t === 'constructor' || Object.hasOwn(out, t)) continue
    const own = Object.hasOwn(policy, t) ? satisfying(policy[t]!, Object.hasOwn(b.metadata ?? {}, t) ? b.metadata![t]! : {}) : {}
    if (own) define(out, t, own)
  }
  return out
}

/** Per parameter, the first candidate (absent first) that the statement's metadata and policy accept. */
function satisfying(typePolicy: Record<string, Record<string, unknown>>, forced: Record<string, unknown>): Record<string, unknown> | undefined {
  const own: Record<string, unknown> = {}
  for (const [p, ops] of Object.entries(typePolicy)) {
    const op = (name: string) => (Object.hasOwn(ops, name) ? ops[name] : undefined)
    const arrays = ['add', 'superset_of'].map(op).filter(Array.isArray) as unknown[][]
    const candidates = [undefined, (op('one_of') as unknown[] | undefined)?.[0], arrays.length ? [...new Set(arrays.flat())] : undefined, op('subset_of'), 'x', ['x']]
    const ok = candidates.find((v) => accepts(p, ops, Object.hasOwn(forced, p) ? forced[p] : v))
    if (ok === undefined && !accepts(p, ops, Object.hasOwn(forced, p) ? forced[p] : undefined)) return undefined
    if (ok !== undefined) define(own, p, ok)
  }
  return own
}

function accepts(p: string, ops: Record<string, unknown>, v: unknown): boolean {
  try {
    applyPolicy(v === undefined ? {} : Object.fromEntries([[p, v]]), Object.fromEntries([[p, ops as ParameterPolicy]]))
    return true
  } catch {
    return false
  }
}

function define(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
}
