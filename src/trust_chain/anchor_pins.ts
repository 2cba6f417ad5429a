/**
 * Pinned trust anchor keys that follow the anchor's key rollover (spec "Key Rollover for a
 * Trust Anchor": the anchor adds the new key to the `jwks` of its entity configuration and
 * keeps signing with the old one long enough for everyone to obtain it).
 *
 * The pin in the configuration file (`trust_anchors[].jwks`, written by `anchorage init`) is
 * the bootstrap. When the anchor's entity configuration is verified with a currently pinned
 * key and lists a different key set, that key set becomes the pin: stored in the store
 * (collection `settings`, id `anchor_pin <entity id>`), so every instance sharing the store
 * sees it, and audited with its write. A configuration signed only by a key that is not
 * pinned changes nothing: a stolen domain cannot swap an anchor's keys. The operator may
 * confirm a key learned out of band (spec "Redundant Retrieval of Trust Anchor Keys") with
 * `acceptKid` on an explicit refresh.
 */
import type { Store, StoredRecord, AuditEvent } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Fetcher } from '../net/fetch.js'
import type { JsonLimits } from '../util/json.js'
import type { Jwks } from '../types.js'
import { InvalidTrustAnchor, NotFound, TemporarilyUnavailable } from '../errors.js'
import { keyFor, keyMaterial, verifyStatement } from './entity_statement.js'
import { ChainError } from './errors.js'
import { directSource, fetchEntityConfiguration, isUnobtainable } from './statements.js'
import { BudgetExceeded, type Budget } from './budget.js'
import type { Statement, TrustAnchor } from './types.js'

export interface PinRecord extends StoredRecord {
  entity_id: string
  jwks: Jwks
  updated_at: number
  /** The pinned kid that signed the configuration this key set came from (or the kid the operator accepted). */
  signed_by: string
}

export interface PinRefresh {
  entity_id: string
  /** The key set changed (and was stored). */
  changed: boolean
  kids: string[]
  signed_by: string
}

export interface AnchorPinsOptions {
  /** The anchors pinned in configuration, in configured order (the bootstrap). */
  configured: readonly TrustAnchor[]
  store: Store
  clock: Clock
  logger: Logger
  fetcher: Fetcher
  skew: number
  json?: JsonLimits
  event: (actor: string, action: string, outcome: 'success', subject: string, detail?: Record<string, unknown>) => AuditEvent
}

const idOf = (entityId: string) => `anchor_pin ${entityId}`
const kidsOf = (jwks: Jwks) => jwks.keys.map((k) => String(k.kid ?? ''))
const fingerprint = (jwks: Jwks) => jwks.keys.map((k) => `${String(k.kid ?? '')}|${keyMaterial(k)}`).sort().join(',')

export class AnchorPins {
  private pins: TrustAnchor[] | undefined
  private loading: Promise<TrustAnchor[]> | undefined
  private readonly unsubscribe: () => void

  constructor(private readonly o: AnchorPinsOptions) {
    this.unsubscribe = o.store.onChange((c) => {
      if (c.collection === 'settings') this.pins = undefined
    })
  }

  stop(): void {
    this.unsubscribe()
  }

  /** The configured anchors, in configured order, each with its current pin. */
  async anchors(): Promise<TrustAnchor[]> {
    if (this.pins) return this.pins
    this.loading ??= this.load().finally(() => {
      this.loading = undefined
    })
    return this.loading
  }

  private async load(): Promise<TrustAnchor[]> {
    const out: TrustAnchor[] = []
    for (const a of this.o.configured) {
      const stored = await this.o.store.get<PinRecord>('settings', idOf(a.entity_id))
      out.push({ entity_id: a.entity_id, jwks: stored?.jwks ?? a.jwks })
    }
    this.pins = out
    return out
  }

  /**
   * The anchor's entity configuration `ec`, already verified with a key pinned for `anchor`
   * (the resolver validated a chain ending in it): its key set becomes the pin if it differs.
   */
  async seen(anchor: TrustAnchor, ec: Statement, actor = 'anchorage'): Promise<boolean> {
    const current = (await this.anchors()).find((a) => a.entity_id === anchor.entity_id)
    if (!current || ec.kind !== 'entity_configuration' || ec.claims.iss !== anchor.entity_id) return false
    // Only a configuration verified with a key pinned now may move the pin (free when the
    // resolver has just verified it: verifyStatement remembers what it verified).
    if (!keyFor(ec, current.jwks)) return false
    try {
      await verifyStatement(ec, current.jwks, `the pinned keys of trust anchor ${anchor.entity_id}`, { clock: this.o.clock, skew: this.o.skew })
    } catch {
      return false
    }
    return this.store(anchor.entity_id, current.jwks, ec, actor)
  }

  /**
   * Fetches the anchor's entity configuration (fetchEntityConfiguration; `budget`, a
   * resolution's, is charged for the fetch and the verification) and takes its key set when
   * it is signed by a pinned key (or by `acceptKid`, a key the operator confirmed out of
   * band). Throws NotFound (not a pinned anchor), TemporarilyUnavailable (fetch failed) or
   * InvalidTrustAnchor (not verifiable with a pinned key: nothing changed).
   */
  async refresh(entityId: string, o: { actor?: string; acceptKid?: string; fetcher?: Fetcher; budget?: Budget } = {}): Promise<PinRefresh> {
    const current = (await this.anchors()).find((a) => a.entity_id === entityId)
    if (!current) throw new NotFound(`${entityId} is not a trust anchor pinned in this deployment's configuration`)
    let accepted = false
    // Verified with the pinned keys, or the key the operator accepted: never just its own.
    const keys = (ec: Statement) => {
      if (keyFor(ec, current.jwks)) return { jwks: current.jwks, whose: `the pinned keys of trust anchor ${entityId}` }
      if (o.acceptKid !== undefined && ec.header.kid === o.acceptKid && keyFor(ec, ec.claims.jwks)) {
        accepted = true
        return { jwks: ec.claims.jwks, whose: 'the key accepted by the operator' }
      }
      throw new InvalidTrustAnchor(`the entity configuration of ${entityId} is signed by kid "${ec.header.kid}", which is not among its pinned keys (${kidsOf(current.jwks).join(', ')}): the pin is unchanged; confirm that key out of band and accept it explicitly`)
    }
    let ec: Statement
    try {
      ec = await fetchEntityConfiguration(entityId, {
        source: directSource(o.fetcher ?? this.o.fetcher, this.o.clock, this.o.json), clock: this.o.clock, skew: this.o.skew, json: this.o.json, keys,
      }, o.budget)
    } catch (err) {
      if (err instanceof BudgetExceeded) throw err
      if (isUnobtainable(err)) throw new TemporarilyUnavailable(`cannot fetch the entity configuration of trust anchor ${entityId}: ${(err as Error).message}`, { cause: err })
      if (err instanceof ChainError) throw new InvalidTrustAnchor(`${err.statement}: ${err.message}`, { cause: err })
      throw err
    }
    const changed = await this.store(entityId, current.jwks, ec, o.actor ?? 'anchorage', accepted ? { accepted_by_operator: true } : {})
    return { entity_id: entityId, changed, kids: kidsOf(ec.claims.jwks), signed_by: ec.header.kid }
  }

  private async store(entityId: string, previous: Jwks, ec: Statement, actor: string, extra: Record<string, unknown> = {}): Promise<boolean> {
    const jwks = ec.claims.jwks
    if (fingerprint(jwks) === fingerprint(previous)) return false
    const record: PinRecord = { id: idOf(entityId), entity_id: entityId, jwks, updated_at: this.o.clock.now(), signed_by: ec.header.kid }
    const detail = { kids: kidsOf(jwks), previous_kids: kidsOf(previous), signed_by: ec.header.kid, ...extra }
    await this.o.store.put('settings', record, { audit: this.o.event(actor, 'anchor.pin', 'success', entityId, detail) })
    this.pins = undefined
    this.o.logger.info('trust anchor pin updated', { anchor: entityId, ...detail })
    return true
  }
}

/** What createAnchorPins reads of a deployment (the foundation's members). */
export interface PinSource {
  config: { trust_anchors: readonly TrustAnchor[]; clock_skew: number; limits: { json_depth: number } }
  store: Store
  clock: Clock
  logger: Logger
  fetcher: Fetcher
  audit: { event: AnchorPinsOptions['event'] }
}

/** The pins of a deployment's configured anchors; every instance reads and writes the same store records. */
export function createAnchorPins(f: PinSource): AnchorPins {
  return new AnchorPins({
    configured: f.config.trust_anchors, store: f.store, clock: f.clock, logger: f.logger.child({ component: 'anchor_pins' }),
    fetcher: f.fetcher, skew: f.config.clock_skew, json: { maxDepth: f.config.limits.json_depth },
    event: (...a) => f.audit.event(...a),
  })
}
