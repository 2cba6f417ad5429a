/**
 * Metadata policy throughput: combine a three-level chain (Trust Anchor, intermediate, and the
 * leaf's Immediate Superior) of openid_relying_party policies and apply the result to a
 * typical RP's metadata. Run directly for a report that also shows ES256 signature
 * verifications per second with jose, for scale:
 *   node --import tsx bench/policy.ts
 */
import { pathToFileURL } from 'node:url'
import { createPolicyEngine, type MetadataPolicy } from '../src/metadata_policy/index.js'

const TA: MetadataPolicy = {
  openid_relying_party: {
    grant_types: { default: ['authorization_code'], subset_of: ['authorization_code', 'refresh_token'], superset_of: ['authorization_code'] },
    response_types: { subset_of: ['code'], essential: true },
    token_endpoint_auth_method: { one_of: ['private_key_jwt', 'self_signed_tls_client_auth'], essential: true },
    token_endpoint_auth_signing_alg: { one_of: ['PS256', 'ES256'] },
    id_token_signed_response_alg: { default: 'ES256', one_of: ['ES256', 'PS256'] },
    subject_type: { value: 'pairwise' },
    contacts: { add: ['helpdesk@federation.example.org'] },
    scope: { subset_of: ['openid', 'profile', 'email', 'offline_access'], default: 'openid' },
    application_type: { one_of: ['web', 'native'], default: 'web' },
    require_auth_time: { value: true },
  },
  openid_provider: { contacts: { add: ['ops@federation.example.org'] } },
}

const INTERMEDIATE: MetadataPolicy = {
  openid_relying_party: {
    grant_types: { subset_of: ['authorization_code'] },
    token_endpoint_auth_method: { one_of: ['private_key_jwt'] },
    contacts: { add: ['helpdesk@org.example.org'] },
    scope: { superset_of: ['openid'] },
    id_token_signed_response_alg: { default: 'ES256' },
    client_name: { essential: true },
  },
}

const SUPERIOR: MetadataPolicy = {
  openid_relying_party: {
    contacts: { add: ['rp-team@org.example.org'] },
    policy_uri: { value: 'https://org.example.org/policy.html' },
    response_types: { essential: true },
    token_endpoint_auth_signing_alg: { one_of: ['ES256'] },
  },
}

const LEAF = {
  openid_relying_party: {
    client_name: 'Example RP',
    redirect_uris: ['https://rp.example.org/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    contacts: ['rp_admins@rp.example.org'],
    scope: 'openid profile email',
    jwks_uri: 'https://rp.example.org/jwks.json',
    logo_uri: 'https://rp.example.org/logo.png',
  },
}

const CHAIN = [
  { policy: TA, issuer: 'https://ta.example.org', subject: 'https://org.example.org' },
  { policy: INTERMEDIATE, issuer: 'https://org.example.org', subject: 'https://unit.org.example.org' },
  { policy: SUPERIOR, issuer: 'https://unit.org.example.org', subject: 'https://rp.example.org' },
]

/** Times combine + apply of the chain above; returns throughput and latency per operation. */
export async function benchPolicy(iterations = 100_000): Promise<{ opsPerSec: number; usPerOp: number }> {
  const engine = createPolicyEngine()
  const once = () => {
    const policy = engine.resolvePolicies(CHAIN)
    return engine.applyMetadataPolicy(LEAF, { policy })
  }
  for (let i = 0; i < Math.min(10_000, iterations); i++) once()
  const start = performance.now()
  for (let i = 0; i < iterations; i++) once()
  const ms = performance.now() - start
  return { opsPerSec: Math.round((iterations / ms) * 1000), usPerOp: Number(((ms * 1000) / iterations).toFixed(2)) }
}

/** ES256 JWT verifications per second with jose, over about `ms` milliseconds. */
export async function benchEs256Verify(ms = 1_000): Promise<{ opsPerSec: number; usPerOp: number }> {
  const { generateKeyPair, SignJWT, jwtVerify } = await import('jose')
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwt = await new SignJWT({ sub: 'https://rp.example.org' }).setProtectedHeader({ alg: 'ES256', typ: 'entity-statement+jwt' }).sign(privateKey)
  for (let i = 0; i < 200; i++) await jwtVerify(jwt, publicKey)
  let n = 0
  const start = performance.now()
  while (performance.now() - start < ms) {
    await jwtVerify(jwt, publicKey)
    n++
  }
  const elapsed = performance.now() - start
  return { opsPerSec: Math.round((n / elapsed) * 1000), usPerOp: Number(((elapsed * 1000) / n).toFixed(2)) }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const policy = await benchPolicy()
  const es256 = await benchEs256Verify()
  console.log(`metadata policy combine+apply (3 statements, ~10 params): ${policy.opsPerSec} ops/s, ${policy.usPerOp} us/op`)
  console.log(`ES256 signature verification (jose):                    ${es256.opsPerSec} ops/s, ${es256.usPerOp} us/op`)
  console.log(`one chain's policy work costs ${(policy.usPerOp / es256.usPerOp).toFixed(2)} ES256 verifications`)
}
