/**
 * The whole story over real HTTP on loopback:
 *
 *                 TA  (Anchorage trust anchor, operated by the federation)
 *            /    |     \
 *         ORG     AS     RS     ORG: the agent's organisation (Anchorage intermediate)
 *          |                    AS: Anchorage with the authorization server role, pinning TA
 *        AGENT                  RS: the resource server's federation entity (oauth_resource;
 *                                   it introspects with its own key)
 *   PR: the MCP-like protected resource (startProtectedResource), checking AS tokens locally
 *
 * The agent registers automatically, gets a token, calls the resource. The operator removes
 * ORG at TA; once the re-evaluation interval has passed (the ManualClock moves; no sleeps),
 * introspection says active false and the next token request is refused.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startProtectedResource, type ProtectedResource } from '../../src/demo/protected_resource.js'
import { clientsCommand } from '../../src/cli/clients.js'
import type { IO } from '../../src/cli/args.js'
import type { TestEntity } from '../support/federation.js'
import { startAgentFederation, tokenRequest, expectError, type Agent, type AgentFederation } from '../support/agent.js'

const AUDIENCE = 'https://mcp.demo.example/mcp'
const REEVALUATION = 120

describe('kill-switch: an agent loses access when its organisation leaves the federation', () => {
  const clock = new ManualClock()
  let fed: AgentFederation
  let ta: TestEntity, org: TestEntity, as: TestEntity
  let agent: Agent, pr: ProtectedResource

  before(async () => {
    // The resource checks tokens with this clock, started at real time by startAgentFederation.
    fed = await startAgentFederation({ clock, resource: AUDIENCE, as: { trust_reevaluation: REEVALUATION }, agents: [{ scope: 'mcp:tools' }] })
    ;({ ta, org, as } = fed)
    agent = fed.agents[0]!
    pr = await startProtectedResource({ port: 0, asIssuer: as.entityId, audience: AUDIENCE, requiredScope: 'mcp:tools', clock })
  })
  after(async () => {
    await fed?.stop()
    await pr?.stop()
  })

  const getToken = async () => tokenRequest(as, await agent.assertion(as.entityId), { scope: 'mcp:tools' })
  const introspectAsResource = (token: string) => fed.introspectAsResource(token)
  const callResource = (token: string) => fetch(`${pr.url}/mcp`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  })

  let first: string
  let late: string

  it('1. the agent registers automatically and gets a token', async () => {
    const r = await getToken()
    assert.equal(r.status, 200, JSON.stringify(r.body))
    first = r.body.access_token
  })

  it('2. the agent calls the protected resource with it', async () => {
    const res = await callResource(first)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'echo', description: 'Echoes its input' }] } })
    const none = await fetch(`${pr.url}/mcp`)
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate') ?? '', /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/)
    const meta = await (await fetch(`${pr.url}/.well-known/oauth-protected-resource`)).json() as Record<string, unknown>
    assert.deepEqual(meta.authorization_servers, [as.entityId])
  })

  it('3. the resource server, a federation member itself, introspects it: active', async () => {
    const body = await introspectAsResource(first)
    assert.equal(body.active, true)
    assert.equal(body.client_id, agent.id)
    assert.equal(body.aud, AUDIENCE)
    assert.equal(body.scope, 'mcp:tools')
    assert.equal(body.trust_anchor, ta.entityId)
  })

  it('4. the operator removes the organisation at the anchor; until re-evaluation the registration stands', async () => {
    const del = await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(org.entityId)}`)
    assert.equal(del.status, 204)
    clock.advance(REEVALUATION - 10)
    const r = await getToken()
    assert.equal(r.status, 200, JSON.stringify(r.body))
    late = r.body.access_token
  })

  it('5. after the re-evaluation interval, introspection re-resolves the chain: active false', async () => {
    clock.advance(11)
    assert.deepEqual(await introspectAsResource(late), { active: false })
    assert.deepEqual(await introspectAsResource(first), { active: false })
  })

  it('6. the next token request is refused with invalid_client', async () => {
    expectError(await getToken(), 401, 'invalid_client', /no valid trust chain .*subordinate statement .* -> .*"not_found"/)
  })

  it('7. local checks at the resource accept the last token only until it expires (access_token_lifetime)', async () => {
    const ok = await callResource(late)
    assert.equal(ok.status, 200, await ok.text())
    clock.advance(300 + 60) // past exp and the resource's 60 s clock skew tolerance
    const res = await callResource(late)
    assert.equal(res.status, 401)
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_token')
  })

  it('8. the audit trail tells the story, and the operator sees why', async () => {
    const { body } = await as.admin('GET', `/admin/audit?subject=${encodeURIComponent(agent.id)}`)
    const story = body.events.map((e: any) => `${e.action} ${e.outcome}`)
    assert.deepEqual(story, [
      'client.register success', 'token.issue success', 'token.issue success', 'client.reevaluate failure', 'client.register failure',
    ])
    const out: string[] = []
    const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: async () => '', env: {} }
    const conn = ['--url', as.entityId, '--token', as.token]
    assert.equal(await clientsCommand(['list', ...conn], io), 0)
    const line = out.flatMap((l) => l.split('\n')).find((l) => l.includes(agent.id))
    assert.ok(line?.startsWith('invalidated'), out.join('\n'))
    assert.equal(await clientsCommand(['show', agent.id, ...conn, '--json'], io), 0)
    assert.equal(JSON.parse(out.at(-1)!).status, 'invalidated')
    assert.equal(await clientsCommand(['revoke', agent.id, ...conn], io), 0)
    assert.equal(out.at(-1), `revoked ${agent.id}`)
    assert.equal(await clientsCommand(['revoke', 'http://127.0.0.1:1', ...conn], io), 1)
    assert.match(out.at(-1)!, /error: HTTP 404 not_found/)
  })
})
