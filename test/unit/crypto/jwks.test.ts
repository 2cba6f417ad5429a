/** JWK Sets Anchorage republishes about its members: real public signing keys only. */
import { strict as assert } from 'node:assert'
import { generateKeyPair, exportJWK, type JWK } from 'jose'
import { publicJwksProblem } from '../../../src/crypto/jwks.js'

async function key(alg: string, opts: Record<string, unknown> = {}): Promise<{ pub: JWK; priv: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...opts })
  return { pub: { ...(await exportJWK(publicKey)), kid: alg, alg }, priv: { ...(await exportJWK(privateKey)), kid: alg, alg } }
}

describe('public JWK Sets of members (publicJwksProblem)', () => {
  let ec: { pub: JWK; priv: JWK }
  let ec384: { pub: JWK; priv: JWK }
  let rsa: { pub: JWK; priv: JWK }
  let ed: { pub: JWK; priv: JWK }
  before(async () => {
    ;[ec, ec384, rsa, ed] = await Promise.all([key('ES256'), key('ES384'), key('PS256'), key('EdDSA', { crv: 'Ed25519' })])
  })

  it('accepts EC, RSA and Ed25519 public keys, with or without alg', async () => {
    const noAlg = { ...ec.pub }
    delete noAlg.alg
    assert.equal(await publicJwksProblem({ keys: [ec.pub, ec384.pub, rsa.pub, { ...ed.pub, kid: 'ed' }, { ...noAlg, kid: 'no-alg' }] }), undefined)
  })

  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
    it(`refuses the RSA private member ${m}, naming it`, async () => {
      assert.equal(await publicJwksProblem({ keys: [ec.pub, { ...rsa.pub, [m]: rsa.priv[m as keyof JWK] }] }), `keys[1].${m}: private key members are not allowed`)
    })
  }

  it('refuses oth and k', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ ...rsa.pub, oth: [] }] }), 'keys[0].oth: private key members are not allowed')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }] }), 'keys[0].k: private key members are not allowed')
  })

  it('refuses a whole EC private key', async () => {
    assert.equal(await publicJwksProblem({ keys: [ec.priv] }), 'keys[0].d: private key members are not allowed')
  })

  it('refuses duplicate kids, naming both keys', async () => {
    assert.equal(await publicJwksProblem({ keys: [ec.pub, rsa.pub, { ...ec384.pub, kid: 'ES256' }] }), 'keys[2].kid: duplicates the kid of keys[0]')
  })

  it('refuses a key without kid', async () => {
    const rest = { ...ec.pub }
    delete rest.kid
    assert.equal(await publicJwksProblem({ keys: [rest] }), 'keys[0].kid: is required')
  })

  it('refuses keys without key material', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'EC', kid: 'k', crv: 'P-256' }] }), 'keys[0].x: is required (a key without key material)')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'RSA', kid: 'k' }] }), 'keys[0].n: is required (a key without key material)')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'EC', kid: 'k' }] }), 'keys[0].crv: is required')
  })

  it('refuses coordinates that are not base64url ("!!!")', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ ...ec.pub, x: '!!!', y: '!!!' }] }), 'keys[0].x: must be a base64url string')
  })

  it('refuses a point that is not on the curve', async () => {
    const problem = await publicJwksProblem({ keys: [{ ...ec.pub, y: ec.pub.x }] })
    assert.match(problem!, /^keys\[0\]: not a valid EC P-256 public key/)
  })

  it('refuses an Ed25519 key that is not a point of the curve, though WebCrypto imports it', async () => {
    // y = 2 has no x on edwards25519 (u/v is not a square); found by trying small y values.
    const notAPoint = Buffer.alloc(32)
    notAPoint[0] = 2
    assert.equal(await publicJwksProblem({ keys: [{ ...ed.pub, x: notAPoint.toString('base64url') }] }), 'keys[0].x: is not a point of Ed25519')
  })

  it('refuses coordinates of the wrong length for the curve', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ ...ec.pub, crv: 'P-384' }] }), 'keys[0].x: must encode 48 bytes for P-384, not 32')
  })

  it('refuses an EC key with alg HS256 or with the alg of another curve', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ ...ec.pub, alg: 'HS256' }] }), 'keys[0].alg: "HS256" is not the signing algorithm of a P-256 key (ES256)')
    assert.equal(await publicJwksProblem({ keys: [{ ...ec.pub, alg: 'ES384' }] }), 'keys[0].alg: "ES384" is not the signing algorithm of a P-256 key (ES256)')
  })

  it('refuses an RSA key with an EC alg', async () => {
    assert.match((await publicJwksProblem({ keys: [{ ...rsa.pub, alg: 'ES256' }] }))!, /^keys\[0\]\.alg: "ES256" is not a signing algorithm for an RSA key/)
  })

  it('refuses an RSA modulus below 2048 bits', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 })
    const n = Buffer.from((await exportJWK(publicKey)).n!, 'base64url').subarray(0, 128).toString('base64url')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'RSA', kid: 'small', n, e: 'AQAB' }] }), 'keys[0].n: the modulus has 1024 bits; at least 2048 are required')
  })

  it('refuses an RSA modulus above 16384 bits (no signature verifies with it), takes 16384', async () => {
    const big = (bits: number) => {
      const n = Buffer.alloc(bits / 8, 0xab)
      n[0] = 0x80
      return n.toString('base64url')
    }
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'RSA', kid: 'big', n: big(16392), e: 'AQAB' }] }), 'keys[0].n: the modulus has 16392 bits; at most 16384 are accepted (no larger key verifies a signature)')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'RSA', kid: 'max', n: big(16384), e: 'AQAB' }] }), undefined)
  })

  it('refuses curves that are not for signing and unknown key types', async () => {
    assert.equal(await publicJwksProblem({ keys: [{ ...ed.pub, crv: 'X25519' }] }), 'keys[0].crv: must be one of Ed25519 for kty OKP')
    assert.equal(await publicJwksProblem({ keys: [{ kty: 'oct', kid: 'h' }] }), 'keys[0].kty: must be "EC", "RSA" or "OKP"')
  })

  it('reads members as own properties only (hostile __proto__, constructor, toString)', async () => {
    const hostile = JSON.parse(`{"keys":[${JSON.stringify({ ...ec.pub })}, {"kty":"EC","kid":"x","__proto__":{"crv":"P-256","x":"${ec.pub.x}","y":"${ec.pub.y}"}}]}`)
    assert.equal(await publicJwksProblem(hostile), 'keys[1].crv: is required')
    assert.equal(await publicJwksProblem({ keys: [{ ...ec.pub, kid: 'constructor' }, { ...rsa.pub, kid: 'toString' }] }), undefined)
    assert.equal(await publicJwksProblem({ constructor: [] }), 'keys: is required')
  })

  it('refuses shapes that are not JWK Sets', async () => {
    assert.equal(await publicJwksProblem(null), 'must be a JSON object')
    assert.equal(await publicJwksProblem({ keys: [] }), 'keys: must be a non-empty array')
    assert.equal(await publicJwksProblem({ keys: [null] }), 'keys[0]: must be a JSON object')
  })
})
