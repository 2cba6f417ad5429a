/**
 * Topology, over TLS only (certificates from a throw-away CA made with openssl; entity
 * ids https://127.0.0.1:PORT; outbound http refused, the CA trusted through outbound.ca_file):
 *
 *     TA    (Anchorage; resolves with itself as trust anchor)
 *      |
 *     IA    (Anchorage intermediate)
 *      |
 *    LEAF   (Anchorage deployment publishing oauth_client metadata)
 */
import { strict as assert } from 'node:assert'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { ManualClock } from '../../src/clock.js'
import { startEntity, decode, type TestEntity } from '../support/federation.js'
import { freePort } from '../support/net.js'
import { makePki, type TestPki } from '../support/tls.js'

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    }).on('error', reject)
  })
}

describe('resolve over TLS with self-signed certificates', () => {
  const clock = new ManualClock()
  let pki: TestPki
  let ta: TestEntity, ia: TestEntity, leaf: TestEntity

  async function tlsEntity(o: { authority_hints?: string[]; metadata?: Record<string, Record<string, unknown>> } = {}): Promise<TestEntity> {
    const port = await freePort()
    return startEntity({
      clock, port, ...(o.authority_hints ? { authority_hints: o.authority_hints } : {}),
      config: {
        entity_id: `https://127.0.0.1:${port}`,
        server: { tls_cert: pki.certFile, tls_key: pki.keyFile },
        outbound: { allow_http: false, allow_private_network: true, timeout_ms: 2000, ca_file: pki.caFile },
        ...(o.metadata ? { metadata: o.metadata } : {}),
      },
    })
  }

  before(async () => {
    pki = await makePki()
    ta = await tlsEntity()
    ia = await tlsEntity({ authority_hints: [ta.federation.entityId] })
    leaf = await tlsEntity({ authority_hints: [ia.federation.entityId], metadata: { oauth_client: { client_name: 'Agent', grant_types: ['client_credentials'] } } })
    // Onboarding fetches each member's entity configuration over https, verifying the certificate.
    await ta.federation.subordinates.add({ entity_id: ia.federation.entityId, intermediate: true }, 'test')
    await ia.federation.subordinates.add({ entity_id: leaf.federation.entityId }, 'test')
  })
  after(async () => {
    await Promise.all([ta, ia, leaf].map((e) => e?.stop()))
    await pki?.remove()
  })

  it('resolves the leaf across https entities', async () => {
    const q = new URLSearchParams({ sub: leaf.federation.entityId, trust_anchor: ta.federation.entityId, entity_type: 'oauth_client' })
    const res = await httpsGet(`${ta.federation.entityId}/resolve?${q.toString()}`, readFileSync(pki.caFile))
    assert.equal(res.status, 200, res.body)
    assert.equal(res.type, 'application/resolve-response+jwt')
    const { payload } = decode(res.body)
    assert.equal(payload.iss, ta.federation.entityId)
    assert.equal(payload.trust_chain.length, 4)
    assert.deepEqual(payload.metadata, { oauth_client: { client_name: 'Agent', grant_types: ['client_credentials'] } })
    assert.ok(payload.trust_chain.every((j: string) => decode(j).payload.iss.startsWith('https://127.0.0.1:')))
  })
})
