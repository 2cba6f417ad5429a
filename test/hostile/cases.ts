/**
 * The federation the prototype-pollution cases run in (one process, one anchor, many
 * hostile intermediates on one hostile server):
 *
 *   TA (Anchorage: trust anchor and resolver)
 *    |  TA -> hi-NAME carries TA_POLICY (or the case's own): "any policy" above the hostile one
 *   hi-NAME (hostile server: a hostile intermediate, one per case)
 *    |  hi-NAME -> leaf-NAME carries the case (policy, metadata, constraints, jwks …)
 *   leaf-NAME (hostile server)
 *
 *   GOOD (hostile server, directly under TA, nothing hostile) must still resolve after each case.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import type { ConfigFile } from '../../src/config/load.js'
import { startEntity, onboard, resolveAt, type ResolveResult, type TestEntity } from '../support/federation.js'
import { startHostile, type HostileEntity, type HostileServer } from '../support/hostile.js'
import { capabilityOf } from '../../src/service.js'
import { assertIntrinsicsUnchanged, snapshotIntrinsics } from './intrinsics.js'

/** The names a merge or lookup could resolve to an inherited member. */
export const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const

/** JSON text -> value: the only way to make a member named `__proto__` (a literal sets the prototype). */
export const raw = (json: string): Record<string, unknown> => JSON.parse(json) as Record<string, unknown>

export const TA_POLICY = { openid_relying_party: { contacts: { add: ['ops@ta.example'] } } }

export const RP_METADATA = {
  federation_entity: { organization_name: 'Leaf' },
  openid_relying_party: { client_name: 'RP', redirect_uris: ['https://rp.example/cb'] },
}

export interface Federation {
  clock: ManualClock
  ta: TestEntity
  h: HostileServer
  good: HostileEntity
  /** A hostile intermediate and a leaf under it, onboarded at TA. */
  add(name: string, o?: CaseOptions): Promise<{ hi: HostileEntity; leaf: HostileEntity }>
  resolve(leaf: HostileEntity, params?: Record<string, string | string[]>): Promise<ResolveResult>
  /** Runs a case: intrinsics unchanged afterwards, and GOOD still resolves. */
  check<T>(fn: () => Promise<T>): Promise<T>
  stop(): Promise<void>
}

export interface CaseOptions {
  /** The policy of TA's statement about the intermediate (default TA_POLICY). */
  taPolicy?: Record<string, unknown>
  /** Claims of the intermediate's statement about the leaf. */
  ss?: Record<string, unknown>
  /** The leaf's metadata. */
  metadata?: Record<string, unknown>
  /** Claims merged over the leaf's entity configuration. */
  leafClaims?: Record<string, unknown>
}

export async function startFederation(config: Partial<ConfigFile> = {}): Promise<Federation> {
  const clock = new ManualClock()
  const ta = await startEntity({ clock, config })
  const h = await startHostile({ clock })
  const good = h.add('good', { authority_hints: [ta.entityId], metadata: RP_METADATA })
  await onboard(ta, good.id)
  const fed: Federation = {
    clock, ta, h, good,
    async add(name, o = {}) {
      const hi = h.add(`hi-${name}`, { authority_hints: [ta.entityId], intermediate: true })
      const leaf = h.add(`leaf-${name}`, { authority_hints: [hi.id], metadata: o.metadata ?? RP_METADATA, ...(o.leafClaims ? { claims: o.leafClaims } : {}) })
      h.subordinate(hi, leaf, o.ss ?? {})
      await onboard(ta, hi.id, { intermediate: true, metadata_policy: o.taPolicy ?? TA_POLICY })
      return { hi, leaf }
    },
    resolve: (leaf, params = {}) => resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId, ...params }),
    async check(fn) {
      const before = snapshotIntrinsics()
      const out = await fn()
      assertIntrinsicsUnchanged(before)
      // Computed afresh (not an answer cached before the case): the engine itself still works.
      capabilityOf(ta.service, 'resolver')!.service.clearCaches()
      const r = await fed.resolve(good, { entity_type: 'openid_relying_party' })
      assert.equal(r.status, 200, `the good subject no longer resolves: ${r.text}`)
      assert.deepEqual(r.payload!.metadata.openid_relying_party, RP_METADATA.openid_relying_party)
      return out
    },
    async stop() {
      await h.stop()
      await ta.stop()
    },
  }
  return fed
}

/** The own member `name` of `o` (also `__proto__`), or undefined. */
export function member(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null ? Object.getOwnPropertyDescriptor(o, name)?.value : undefined
}
