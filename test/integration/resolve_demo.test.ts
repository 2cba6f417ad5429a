/**
 * Topology (started by `anchorage demo` in this process):
 *
 *     TA  <-  IA  <-  { agent (oauth_client), mcp (oauth_resource), op (openid_provider) }
 *     TA  <-  AS (authorization server trusting TA)      MCP endpoint (accepts AS tokens only)
 *
 * The demo comes up, prints commands that work, resolves its leaves with the policy
 * applied, and cleans up when told to stop.
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
      assert.deepEqual(client.grant_types, ['client_credentials'])
      assert.deepEqual(client.contacts, ['federation-ops@anchor.demo'])
      const mcp = /curl -s '(http:\/\/127\.0\.0\.1:\d+\/resolve\?sub=[^']+&trust_anchor=[^'&]+)'/.exec(text)?.[1]
      assert.equal((await fetch(mcp!)).status, 200)
    } finally {
      stop()
      assert.equal(await running, 0)
    }
  })

  it('tells the agent story: token, MCP call, removal at the anchor, refusal after re-evaluation', async function () {
    this.timeout(30_000)
    const out: string[] = []
    const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: (p) => readFile(p, 'utf8'), env: {} }
    let stop!: () => void
    const until = new Promise<void>((r) => (stop = r))
    const running = demoCommand(['--trust-reevaluation', '1'], io, { until })
    try {
      for (let i = 0; i < 200 && !out.join('').includes('agent story'); i++) await new Promise((r) => setTimeout(r, 25))
      const text = out.join('\n')
      const call = /curl -s -X POST (\S+\/demo\/call-mcp)/.exec(text)?.[1]
      const remove = /anchorage subordinate remove (\S+) --dir (\S+)/.exec(text)
      assert.ok(call && remove, text)
      const first = (await (await fetch(call, { method: 'POST' })).json()) as any
      assert.equal(first.token.status, 200)
      assert.equal(first.resource.status, 200)
      assert.equal(first.resource.body.scope, 'mcp:tools')
      const { cli } = await import('../support/cli.js')
      const removed = await cli(['subordinate', 'remove', remove[1]!, '--dir', remove[2]!])
      assert.equal(removed.code, 0, removed.stderr)
      // The demo runs on the system clock: this is the one real wait, the 1 s re-evaluation interval.
      await new Promise((r) => setTimeout(r, 1100))
      const second = (await (await fetch(call, { method: 'POST' })).json()) as any
      assert.equal(second.token.status, 401)
      assert.equal(second.token.body.error, 'invalid_client')
      assert.equal(second.resource, undefined)
    } finally {
      stop()
      assert.equal(await running, 0)
    }
  })
})
