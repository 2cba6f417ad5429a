/**
 * Bounded propagation (docs/resolution.md, "Propagation bound"): a change at another
 * deployment reaches the anchor's /resolve within statement_ttl_max + answer_ttl_max +
 * answer_stale_seconds, whatever the statements' exp, with stale-while-revalidate keeping
 * the warm path warm. Each entity on its own loopback port:
 *
 *     TA <- MID <- IA <- LEAF      (TA, MID, IA: Anchorage; LEAF: a test leaf)
 *
 * Removing IA at MID is a remote removal for the TA (it learns it only by fetching MID's
 * statement again), as is a change of the leaf's metadata.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { signStatement } from '../support/entity.js'
import { startEntity, startLeaf, onboard, resolveAt, assertFailure, RP_METADATA, type TestEntity, type TestLeaf, type ResolveResult } from '../support/federation.js'

const { statement_ttl_max: S, answer_ttl_max: A, answer_stale_seconds: W } = DEFAULTS.resolver
const BOUND = S + A + W

interface Four {
  clock: ManualClock
  ta: TestEntity
  mid: TestEntity
  ia: TestEntity
  leaf: TestLeaf
  ask: () => Promise<ResolveResult>
  stop: () => Promise<void>
}

async function fourLevels(taResolver: Record<string, number> = {}): Promise<Four> {
  const clock = new ManualClock()
  const ta = await startEntity({ clock, config: { resolver: taResolver } })
  const mid = await startEntity({ clock, authority_hints: [ta.entityId] })
  const ia = await startEntity({ clock, authority_hints: [mid.entityId] })
  const leaf = await startLeaf({ clock, authority_hints: [ia.entityId], metadata: structuredClone(RP_METADATA) })
  await onboard(ta, mid.entityId, { intermediate: true })
  await onboard(mid, ia.entityId, { intermediate: true })
  await onboard(ia, leaf.entityId)
  return {
    clock, ta, mid, ia, leaf,
    ask: () => resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId }),
    stop: async () => {
      await Promise.all([ta, mid, ia, leaf].map((e) => e.stop()))
    },
  }
}

/** Asks until the answer is no longer `text` (the background refresh landed); bounded. */
async function untilChanged(ask: () => Promise<ResolveResult>, text: string): Promise<ResolveResult> {
  for (let i = 0; i < 200; i++) {
    const r = await ask()
    if (r.text !== text) return r
    await new Promise<void>((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('the answer never changed')
}

/** Holds the leaf's entity configuration responses until release() (the refresh is then in flight). */
function holdLeaf(leaf: TestLeaf, clock: ManualClock): { seen: Promise<void>; release(): void } {
  let seen = () => {}
  const seenP = new Promise<void>((r) => { seen = r })
  let open = () => {}
  const opened = new Promise<void>((r) => { open = r })
  leaf.respond = (req, res) => {
    if (req.url !== '/.well-known/openid-federation') return false
    seen()
    void opened.then(async () => {
      const now = clock.now()
      const jwt = await signStatement({ iat: now, exp: now + 3_600, ...leaf.claims }, leaf.key)
      res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' })
      res.end(jwt)
    })
    return true
  }
  return {
    seen: seenP,
    release: () => {
      leaf.respond = undefined
      open()
    },
  }
}

describe('resolve: bounded propagation of remote changes', () => {
  it(`states the default bound: ${BOUND} s`, () => {
    assert.equal(BOUND, 120)
  })

  describe('a leaf metadata change', () => {
    let f: Four
    before(async () => {
      f = await fourLevels()
    })
    after(() => f?.stop())

    it('reaches the anchor within the bound even when a refresh re-used the old statements just before they expired', async () => {
      const t0 = f.clock.now()
      const first = await f.ask()
      assert.equal(first.payload!.metadata.openid_relying_party.client_name, 'RP')
      f.clock.set(t0 + 1)
      ;(f.leaf.claims.metadata as typeof RP_METADATA).openid_relying_party.client_name = 'RP v2'
      // Worst case: a stale answer refreshed from statements fetched at t0, still cached.
      f.clock.set(t0 + S - 1)
      const stale = await f.ask()
      assert.equal(stale.text, first.text)
      const refreshed = await untilChanged(f.ask, first.text)
      assert.equal(refreshed.payload!.metadata.openid_relying_party.client_name, 'RP')
      // Past the bound from the change, the new metadata is what the anchor answers.
      f.clock.set(t0 + 1 + BOUND)
      const after = await f.ask()
      assert.equal(after.status, 200, after.text)
      assert.equal(after.payload!.metadata.openid_relying_party.client_name, 'RP v2')
    })
  })

  describe('an intermediate removed at its superior', () => {
    let f: Four
    before(async () => {
      // Statements expire before the answer stops being fresh + stale, so the refresh re-fetches.
      f = await fourLevels({ statement_ttl_max: 30 })
    })
    after(() => f?.stop())

    it('is served stale while the refresh runs, and dropped at once when the refresh finds the chain broken', async () => {
      const t0 = f.clock.now()
      const first = await f.ask()
      assert.equal(first.status, 200, first.text)
      const del = await f.mid.admin('DELETE', `/admin/subordinates/${encodeURIComponent(f.ia.entityId)}`)
      assert.equal(del.status, 204)
      f.clock.set(t0 + A + 1) // stale; every statement expired (30 s)
      const hold = holdLeaf(f.leaf, f.clock)
      const stale = await f.ask()
      assert.equal(stale.text, first.text)
      await hold.seen // the refresh is fetching
      assert.equal((await f.ask()).text, first.text) // still served, no second refresh
      hold.release()
      const broken = await untilChanged(f.ask, first.text)
      assertFailure(broken, 'invalid_trust_chain', 400, `subordinate statement ${f.mid.entityId} -> ${f.ia.entityId}`, 'not_found')
    })
  })
})
