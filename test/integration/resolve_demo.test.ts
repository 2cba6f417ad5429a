/**
 * Topology (started by `anchorage demo` in this process):
 *
 *     TA  <-  IA  <-  { agent (oauth_client), mcp (oauth_resource), op (openid_provider) }
 *     TA  <-  AS (authorization server trusting TA)      MCP endpoint (accepts AS tokens only)
 *
 * The demo comes up, prints commands that work, resolves its leaves with the policy
 * applied, tells the agent story (on its own, then for a user who signs in at the AS's
 * OpenID Provider, then cut off at the anchor), and cleans up when told to stop.
 */
import { strict as assert } from 'node:assert'
import { readFile } from 'node:fs/promises'
import { demoCommand } from '../../src/cli/demo.js'
import type { IO } from '../../src/cli/args.js'
import { decode } from '../support/federation.js'

describe('anchorage demo', () => {
  it('starts a federation whose resolver answers for the agent with the policy applied', async () => {
    const out: string[] = []
    const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: (p) => readFile(p, 'utf8'), env: {} }
    let stop!: () => void
    const until = new Promise<void>((r) => (stop = r))
    const running = demoCommand([], io, { until })
    try {
      for (let i = 0; i < 200 && !out.join('').includes('Try:'); i++) await new Promise((r) => setTimeout(r, 25))
      const text = out.join('\n')
      const resolveUrl = /curl -s '(http:\/\/127\.0\.0\.1:\d+\/resolve\?sub=[^']+&entity_type=oauth_client)'/.exec(text)?.[1]
      assert.ok(resolveUrl, text)
      const res = await fetch(resolveUrl)
      const body = await res.text()
      assert.equal(res.status, 200, body)
      const client = decode(body).payload.metadata.oauth_client
      // The anchor's policy took device_code away.
      assert.deepEqual(client.grant_types, ['client_credentials', 'authorization_code', 'urn:ietf:params:oauth:grant-type:token-exchange'])
      assert.deepEqual(client.contacts, ['federation-ops@anchor.demo'])
      const mcp = /curl -s '(http:\/\/127\.0\.0\.1:\d+\/resolve\?sub=[^']+&trust_anchor=[^'&]+)'/.exec(text)?.[1]
      assert.equal((await fetch(mcp!)).status, 200)
    } finally {
      stop()
      assert.equal(await running, 0)
    }
  })

  it('tells the agent story: token, MCP call, a user\'s delegation by token exchange, removal at the anchor, refusal after re-evaluation', async function () {
    this.timeout(60_000)
    const out: string[] = []
    const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: (p) => readFile(p, 'utf8'), env: {} }
    let stop!: () => void
    const until = new Promise<void>((r) => (stop = r))
    const running = demoCommand(['--trust-reevaluation', '1'], io, { until })
    try {
      for (let i = 0; i < 200 && !out.join('').includes('agent story'); i++) await new Promise((r) => setTimeout(r, 25))
      const text = out.join('\n')
      const call = /curl -s -X POST (\S+\/demo\/call-mcp)/.exec(text)?.[1]
      const forUser = /curl -s -X POST (\S+\/demo\/act-for-user)/.exec(text)?.[1]
      const remove = /anchorage subordinate remove (\S+) --dir (\S+)/.exec(text)
      const as = /authorization server (\S+)/.exec(text)?.[1]
      const mcp = /MCP endpoint (\S+)/.exec(text)?.[1]
      assert.ok(call && forUser && remove && as && mcp, text)
      const agent = new URL(call).origin
      const first = (await (await fetch(call, { method: 'POST' })).json()) as any
      assert.equal(first.token.status, 200)
      assert.equal(first.resource.status, 200)
      assert.equal(first.resource.body.scope, 'mcp:tools')

      // alice signs in at the OP for the agent (PAR, login, consent, code + PKCE): her token, issued to the agent.
      const delegated = (await (await fetch(forUser, { method: 'POST' })).json()) as any
      assert.equal(delegated.user_token?.sub, 'alice', JSON.stringify(delegated))
      assert.equal(delegated.user_token.client_id, agent)
      assert.equal(delegated.user_token.aud, mcp)
      assert.equal(delegated.user_token.scope, 'mcp:tools mcp:read')
      // The exchange: one resource, down-scoped, act naming the agent's entity id (RFC 8693 section 4.1).
      assert.equal(delegated.exchange.status, 200, JSON.stringify(delegated.exchange))
      assert.equal(delegated.exchange.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
      const claims = delegated.exchange.claims
      assert.deepEqual([claims.iss, claims.sub, claims.client_id, claims.aud, claims.scope], [as, 'alice', agent, mcp, 'mcp:tools'])
      assert.deepEqual(claims.act, { sub: agent })
      // The MCP endpoint accepts it: the agent, for alice, with mcp:tools only.
      assert.equal(delegated.resource.status, 200, JSON.stringify(delegated.resource))
      assert.deepEqual([delegated.resource.body.client_id, delegated.resource.body.scope], [agent, 'mcp:tools'])
      // A second call exchanges the token the agent holds, with no new sign-in.
      const again = (await (await fetch(forUser, { method: 'POST' })).json()) as any
      assert.equal(again.user_token, 'held from the earlier sign-in')
      assert.equal(again.exchange.status, 200, JSON.stringify(again.exchange))
      const { cli } = await import('../support/cli.js')
      const removed = await cli(['subordinate', 'remove', remove[1]!, '--dir', remove[2]!])
      assert.equal(removed.code, 0, removed.stderr)
      // The demo runs on the system clock: this is the one real wait, the 1 s re-evaluation interval.
      await new Promise((r) => setTimeout(r, 1100))
      const second = (await (await fetch(call, { method: 'POST' })).json()) as any
      assert.equal(second.token.status, 401)
      assert.equal(second.token.body.error, 'invalid_client')
      assert.equal(second.resource, undefined)
      // The kill-switch cuts the delegation too: the agent is refused (its next request is a
      // first contact, resolved afresh after the cut-off: the demo's statements cached before it
      // outlive its 1 s re-evaluation), and so is every request after it.
      const cut = (await (await fetch(forUser, { method: 'POST' })).json()) as any
      assert.equal(cut.user_token, 'held from the earlier sign-in')
      assert.deepEqual([cut.exchange.status, cut.exchange.body.error], [401, 'invalid_client'], JSON.stringify(cut.exchange))
      assert.equal(cut.resource, undefined)
      const third = (await (await fetch(call, { method: 'POST' })).json()) as any
      assert.deepEqual([third.token.status, third.token.body.error], [401, 'invalid_client'], JSON.stringify(third.token))
    } finally {
      stop()
      assert.equal(await running, 0)
    }
  })
})
