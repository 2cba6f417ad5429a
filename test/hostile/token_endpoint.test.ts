/**
 * The authorization server's way into the policy engine (issue 12, item 1): a token request
 * naming an agent under a hostile intermediate, with an unsigned assertion (refused before
 * any chain work) and with a signed one (first contact: the chain is resolved and the hostile
 * policy merged). Neither pollutes; a good agent registers afterwards. Explicit registration
 * bodies nested past limits.json_depth are refused with 400.
 *
 *          TA (Anchorage; TA -> hi carries an oauth_client policy)
 *        /    \       \
 *      hi      AS      GOOD (agent)
 *      |       (Anchorage, authorization server, pinning TA)
 *    AGENT     (hi -> AGENT carries {"__proto__": …, "constructor": …} at every level)
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, type TestEntity } from '../support/federation.js'
import { startHostile, type HostileServer } from '../support/hostile.js'
import { startAuthorizationServer, startAgent, tokenRequest, expectError, weakAssertion, RESOURCE, type Agent } from '../support/agent.js'
import { assertIntrinsicsUnchanged, snapshotIntrinsics } from './intrinsics.js'
import { raw } from './cases.js'
import { send, nested } from './raw_http.js'

const HOSTILE_POLICY = '{"__proto__": {"trust_chain": {"value": "x"}}, "constructor": {"scope": {"value": "x"}}, "oauth_client": {"__proto__": {"value": "p"}, "toString": {"default": "t"}, "scope": {"constructor": 1, "subset_of": ["mcp:tools", "mcp:read"]}}}'

describe('hostile: token endpoint and explicit registration', () => {
  const clock = new ManualClock()
  let ta: TestEntity, as: TestEntity
  let h: HostileServer
  let agent: Agent, good: Agent

  before(async () => {
    ta = await startEntity({ clock })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId] })
    h = await startHostile({ clock })
    const hi = h.add('hi', { authority_hints: [ta.entityId], intermediate: true })
    agent = await startAgent({ clock, authority_hints: [hi.id] })
    good = await startAgent({ clock, authority_hints: [ta.entityId] })
    h.subordinate(hi, agent.id, { jwks: { keys: [agent.leaf.key.publicJwk] }, metadata_policy: raw(HOSTILE_POLICY) })
    await onboard(ta, hi.id, { intermediate: true, metadata_policy: { oauth_client: { scope: { subset_of: ['mcp:tools', 'mcp:read', 'mcp:write'] } } } })
    await onboard(ta, as.entityId)
    await onboard(ta, good.id)
  })
  after(async () => {
    await Promise.all([ta?.stop(), as?.stop(), h?.stop(), agent?.stop(), good?.stop()])
  })

  async function goodAgentGetsToken(): Promise<void> {
    const r = await tokenRequest(as, await good.assertion(as.entityId), { resource: RESOURCE, scope: 'mcp:tools' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
  }

  it('refuses an unsigned assertion naming the agent under the hostile intermediate, polluting nothing', async () => {
    const before = snapshotIntrinsics()
    const r = await tokenRequest(as, await weakAssertion('none', { iss: agent.id, aud: as.entityId, now: clock.now() }), { resource: RESOURCE })
    expectError(r, 401, 'invalid_client', 'alg "none" is not allowed')
    assertIntrinsicsUnchanged(before)
    await goodAgentGetsToken()
  })

  it('registers the agent at first contact through the hostile policy, which stays data (no pollution)', async () => {
    const before = snapshotIntrinsics()
    const r = await tokenRequest(as, await agent.assertion(as.entityId), { resource: RESOURCE, scope: 'mcp:tools' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assertIntrinsicsUnchanged(before)
    const client = await as.admin('GET', `/admin/clients/${encodeURIComponent(agent.id)}`)
    assert.equal(client.status, 200, JSON.stringify(client.body))
    const md = client.body.metadata.oauth_client
    assert.equal(Object.getOwnPropertyDescriptor(md, '__proto__')?.value, 'p')
    assert.equal(md.toString, 't')
    assert.equal(md.scope, 'mcp:tools mcp:read')
    await goodAgentGetsToken()
  })

  it('refuses an explicit registration body nested past the limit with 400, and a deep request JWT too', async () => {
    const before = snapshotIntrinsics()
    for (const body of [nested(2_000), `["x",${nested(20_000)}]`]) {
      const r = await send(`${as.entityId}/oauth/register`, { method: 'POST', body, framing: 'chunked', headers: { 'content-type': 'application/trust-chain+json' } })
      assert.equal(r.status, 400, r.text)
      assert.equal(r.body.error, 'invalid_request')
      assert.equal(r.body.error_description, 'the request body nests deeper than 64 levels (limits.json_depth)')
    }
    const enc = (t: string) => Buffer.from(t).toString('base64url')
    const deepJwt = `${enc('{"alg":"ES256","typ":"entity-statement+jwt","kid":"k"}')}.${enc(`{"iss":"${agent.id}","x":${nested(5_000)}}`)}.c2ln`
    const r = await send(`${as.entityId}/oauth/register`, { method: 'POST', body: deepJwt, headers: { 'content-type': 'application/entity-statement+jwt' } })
    assert.equal(r.status, 400, r.text)
    assert.match(r.body.error_description, /registration request: the JWT payload: the JSON document nests deeper than 64 levels/)
    assertIntrinsicsUnchanged(before)
    await goodAgentGetsToken()
  })
})
