/**
 * The authorization server's metrics (docs/operations.md, "Metrics"): registrations by kind
 * and outcome, tokens issued and refused by grant type, on a real federation (TA, IA, the
 * AS pinning TA, agents under IA) and real token requests (RFC 7523 private_key_jwt).
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, type TestEntity } from '../support/federation.js'
import { startAuthorizationServer, startAgent, tokenRequest, RESOURCE, type Agent } from '../support/agent.js'
import { parsePrometheus, valueOf, type Family } from '../support/prometheus.js'

describe('metrics of the authorization server role', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, as: TestEntity
  const agents: Agent[] = []

  before(async () => {
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [RESOURCE], scopes_supported: ['mcp:tools'] } })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, as.entityId)
  })
  after(async () => {
    await Promise.all([ta, ia, as].map((e) => e?.stop()))
    await Promise.all(agents.map((a) => a.stop()))
  })

  async function scrape(): Promise<Map<string, Family>> {
    const r = await fetch(`${as.entityId}/admin/metrics`, { headers: { authorization: `Bearer ${as.token}` } })
    assert.equal(r.status, 200)
    return parsePrometheus(await r.text())
  }

  async function agent(onboarded: boolean): Promise<Agent> {
    const a = await startAgent({ clock, authority_hints: [ia.entityId] })
    agents.push(a)
    if (onboarded) await onboard(ia, a.id)
    return a
  }

  it('counts a registration and a token issued, then tokens refused and a registration refused', async () => {
    const before = await scrape()
    const member = await agent(true)
    const ok = await tokenRequest(as, await member.assertion(as.entityId), { resource: RESOURCE, scope: 'mcp:tools' })
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    const badScope = await tokenRequest(as, await member.assertion(as.entityId), { resource: RESOURCE, scope: 'mcp:nothing' })
    assert.equal(badScope.status, 400)
    const stranger = await agent(false)
    const refused = await tokenRequest(as, await stranger.assertion(as.entityId), { resource: RESOURCE })
    assert.equal(refused.status, 401, JSON.stringify(refused.body))
    const after = await scrape()
    const moved = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels)
    assert.equal(moved('anchorage_tokens_total', { outcome: 'issued', grant_type: 'client_credentials' }), 1)
    assert.equal(moved('anchorage_tokens_total', { outcome: 'refused', grant_type: 'client_credentials' }), 2)
    assert.equal(moved('anchorage_registrations_total', { kind: 'automatic', outcome: 'success' }), 1)
    assert.equal(moved('anchorage_registrations_total', { kind: 'automatic', outcome: 'refused' }), 1)
    assert.equal(moved('anchorage_http_request_duration_seconds_count', { status: '200', method: 'POST' }) >= 1, true)
  })
})
