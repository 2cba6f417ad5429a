/**
 * The trust registry: this entity's vetted roster of subordinates. Onboard, update,
 * suspend, reinstate, remove; every change (and every refusal) audited, each change
 * and its event in one atomic store write (a member never exists without its event).
 */
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { AuditLog } from '../audit/audit.js'
import { Conflict, InvalidRequest, NotFound, FederationError, TooManyRequests } from '../errors.js'
import type { Fetcher } from '../net/fetch.js'
import type { Budget } from '../trust_chain/budget.js'
import { ChainError } from '../trust_chain/errors.js'
import { directSource, fetchEntityConfiguration, isUnobtainable } from '../trust_chain/statements.js'
import type { Constraints, EntityStatement, Jwks, Metadata, MetadataPolicy } from '../types.js'
import { validator, describeAjvError } from '../config/schemas.js'
import { MemberChecks } from './validation.js'
import { KeyRefresh, type PendingKeys } from './key_refresh.js'
import type { Statement } from '../trust_chain/types.js'
import { isJsonObject, own } from '../util/json.js'
import { Slots } from '../util/slots.js'

/** What the operator may set on a member and its subordinate statement carries. */
export interface StatementFields {
  metadata?: Metadata
  metadata_policy?: MetadataPolicy
  constraints?: Constraints
  crit?: string[]
  metadata_policy_crit?: string[]
  source_endpoint?: string
}

export interface SubordinateInput extends StatementFields {
  entity_id: string
  jwks?: Jwks
  entity_types?: string[]
  intermediate?: boolean
}

/** A page of the roster (GET /admin/subordinates): filters and the cursor. */
export interface MemberQuery {
  limit: number
  /** The last entity id of the previous page. */
  after?: string
  /** `pending`: a key change waits for the operator (whatever the member's status). */
  status?: 'active' | 'suspended' | 'pending'
  entity_type?: string
  intermediate?: boolean
  /** Entity ids starting with one of these, listed in this order (which must be id order). */
  prefixes?: readonly string[]
}

export type SubordinatePatch = { [K in Exclude<keyof SubordinateInput, 'entity_id'>]?: SubordinateInput[K] | null }

export interface SubordinateRecord extends StoredRecord, StatementFields {
  id: string
  entity_id: string
  status: 'active' | 'suspended'
  jwks: Jwks
  entity_types: string[]
  intermediate: boolean
  /** Trust mark types seen in the member's entity configuration (for /list filters). */
  trust_mark_types?: string[]
  /** A key change seen at the member, signed by a key this entity does not vouch for: waits for the operator (key_refresh.ts). */
  pending_keys?: PendingKeys
  /** Digest of the last key set the operator rejected: not proposed again. */
  rejected_keys?: string
  created_at: number
  updated_at: number
}

export interface RegistryDeps {
  /** A work budget (resolver.budget_*) for fetching and checking a member's entity configuration. */
  budget?: () => Budget
  entityId: string
  store: Store
  clock: Clock
  audit: AuditLog
  fetcher: Fetcher
  skew: number
  /** Structural + semantic check of a metadata policy (the policy engine). */
  checkPolicy?: (policy: MetadataPolicy, crit: string[] | undefined) => void
  /** Accept http entity ids and source endpoints (a development deployment, or outbound.allow_http). */
  allowHttp?: boolean
  /** Members refreshed at once by keys.refreshAll (subordinates.key_refresh_concurrency; default 4). */
  keyRefreshConcurrency?: number
  /** Previews fetching at once (subordinates.preview_concurrency; default 4): beyond, 429. */
  previewConcurrency?: number
}

export class SubordinateRegistry {
  /** Whatever is stored must give a statement this deployment's resolver accepts (validation.ts). */
  private readonly checks: MemberChecks
  /** Following the members' key rollover: refresh, pending changes, approve, reject. */
  readonly keys: KeyRefresh
  /** Previews fetching now: an operator's (or a stolen session's) previews are outbound requests to any address it names. */
  private readonly previews: Slots

  constructor(private readonly d: RegistryDeps) {
    this.checks = new MemberChecks({ entityId: d.entityId, allowHttp: d.allowHttp ?? false, checkPolicy: d.checkPolicy })
    this.previews = new Slots(d.previewConcurrency ?? 4)
    // The key refresh reads members through the registry (called after construction only).
    this.keys = new KeyRefresh({ ...d, members: this, checks: this.checks, concurrency: d.keyRefreshConcurrency ?? 4 })
  }

  async add(input: unknown, actor: string): Promise<SubordinateRecord> {
    const body = this.validate<SubordinateInput>('subordinate', input)
    this.checks.entityId(body.entity_id)
    if (body.entity_id === this.d.entityId) throw new InvalidRequest('entity_id: an entity cannot be its own subordinate')
    this.checks.fields(body)
    if (body.jwks) await this.checks.jwks(body.jwks)
    if (await this.d.store.get('subordinates', body.entity_id)) await this.conflict(body.entity_id, actor)
    const now = this.d.clock.now()
    let fromConfiguration: Awaited<ReturnType<SubordinateRegistry['inspect']>> | undefined
    if (!body.jwks) fromConfiguration = await this.inspect(body.entity_id)
    const jwks = body.jwks ?? fromConfiguration!.jwks
    if (!body.jwks) await this.checks.jwks(jwks, `the entity configuration of ${body.entity_id}`)
    const record: SubordinateRecord = {
      id: body.entity_id,
      entity_id: body.entity_id,
      status: 'active',
      jwks,
      entity_types: body.entity_types ?? fromConfiguration?.entity_types ?? Object.keys(body.metadata ?? {}),
      intermediate: body.intermediate ?? fromConfiguration?.intermediate ?? false,
      ...pick(body),
      ...(fromConfiguration?.trust_mark_types.length ? { trust_mark_types: fromConfiguration.trust_mark_types } : {}),
      created_at: now,
      updated_at: now,
    }
    this.checks.statement(record, now)
    try {
      await this.d.store.insert('subordinates', record, {
        audit: this.d.audit.event(actor, 'subordinate.add', 'success', body.entity_id, {
          jwks_source: body.jwks ? 'request' : 'entity_configuration',
          kids: jwks.keys.map((k) => k.kid),
        }),
      })
    } catch (err) {
      if (err instanceof FederationError && err.error === 'conflict') await this.conflict(body.entity_id, actor)
      throw err
    }
    return record
  }

  private async conflict(entityId: string, actor: string): Promise<never> {
    await this.d.audit.record(actor, 'subordinate.add', 'failure', entityId, { reason: 'already a subordinate' })
    throw new Conflict(`entity_id: ${entityId} is already a subordinate`)
  }

  async get(entityId: string): Promise<SubordinateRecord> {
    const rec = await this.d.store.get<SubordinateRecord>('subordinates', entityId)
    if (!rec) throw new NotFound(`${entityId} is not a subordinate of this entity`)
    return rec
  }

  /** Every member, in entity id order, read a page at a time. */
  async *all(pageSize = 500): AsyncGenerator<SubordinateRecord> {
    for (let after: string | undefined; ;) {
      const page = await this.page({ limit: pageSize, ...(after !== undefined ? { after } : {}) })
      yield* page
      if (page.length < pageSize) return
      after = page.at(-1)!.id
    }
  }

  /**
   * One page of members in entity id order, filtered: every filter is a store index (status,
   * entity_types, intermediate; pending: a presence index of pending_keys) or an id range
   * (prefixes), so a page costs about its size whatever the roster's.
   */
  async page(options: MemberQuery): Promise<SubordinateRecord[]> {
    const where: Record<string, string | boolean> = {}
    if (options.status === 'active' || options.status === 'suspended') where.status = options.status
    if (options.entity_type !== undefined) where.entity_types = options.entity_type
    if (options.intermediate !== undefined) where.intermediate = options.intermediate
    const base = {
      ...(Object.keys(where).length ? { where } : {}),
      ...(options.status === 'pending' ? { exists: ['pending_keys'] } : {}),
    }
    const prefixes = options.prefixes ?? [undefined]
    const out: SubordinateRecord[] = []
    // Prefixes in id order (their ranges do not overlap): the page continues in the next one.
    for (const prefix of prefixes) {
      const after = options.after
      out.push(...await this.d.store.list<SubordinateRecord>('subordinates', {
        ...base, ...(prefix !== undefined ? { prefix } : {}), ...(after !== undefined ? { after } : {}), limit: options.limit - out.length,
      }))
      if (out.length >= options.limit) break
    }
    return out
  }

  async update(entityId: string, input: unknown, actor: string): Promise<SubordinateRecord> {
    const patch = this.validate<SubordinatePatch>('subordinate_patch', input)
    const now = this.d.clock.now()
    // The merged record is what gets signed, so it is what gets checked (validation.ts).
    const check = await this.checks.forUpdate(applyPatch(await this.get(entityId), patch, now), now)
    let refusal: FederationError | undefined
    const audit = this.d.audit.event(actor, 'subordinate.update', 'success', entityId, { fields: Object.keys(patch) })
    const updated = await this.d.store.update<SubordinateRecord>('subordinates', entityId, (cur) => {
      if (!cur) return undefined
      const next = applyPatch(cur, patch, now)
      refusal = check(next)
      return refusal ? undefined : next
    }, { audit })
    if (refusal) throw refusal
    if (!updated) throw new NotFound(`${entityId} is not a subordinate of this entity`)
    return updated
  }

  async setStatus(entityId: string, status: 'active' | 'suspended', actor: string): Promise<SubordinateRecord> {
    const now = this.d.clock.now()
    // Written (with its event) only when the status changes: no event names a change that did not happen.
    const audit = this.d.audit.event(actor, status === 'active' ? 'subordinate.reinstate' : 'subordinate.suspend', 'success', entityId)
    const updated = await this.d.store.update<SubordinateRecord>(
      'subordinates',
      entityId,
      (cur) => (cur && cur.status !== status ? { ...cur, status, updated_at: now } : undefined),
      { audit },
    )
    if (!updated) throw new NotFound(`${entityId} is not a subordinate of this entity`)
    return updated
  }

  async remove(entityId: string, actor: string): Promise<void> {
    const audit = this.d.audit.event(actor, 'subordinate.remove', 'success', entityId)
    const existed = await this.d.store.remove('subordinates', entityId, { audit })
    if (!existed) throw new NotFound(`${entityId} is not a subordinate of this entity`)
  }

  private validate<T>(schema: string, input: unknown): T {
    const v = validator(schema)
    if (!v(input)) throw new InvalidRequest(describeAjvError(v.errors))
    return input as T
  }

  /**
   * What onboarding `{entity_id}` without jwks would do, without writing anything: the
   * member's entity configuration fetched through the hardened fetcher and verified (the
   * same read and checks as onboarding), what the record would hold, and every problem
   * onboarding would refuse it for. Throws (400) only for a request that names no entity
   * onboarding could take at all (schema, entity id syntax, this entity itself); 429 while
   * subordinates.preview_concurrency previews are fetching (on this instance).
   */
  async preview(input: unknown): Promise<OnboardingPreview> {
    const body = this.validate<{ entity_id: string }>('subordinate_preview', input)
    const entityId = body.entity_id
    this.checks.entityId(entityId)
    if (entityId === this.d.entityId) throw new InvalidRequest('entity_id: an entity cannot be its own subordinate')
    const running = this.previews.tryRun(() => this.previewOf(entityId))
    if (!running) throw new TooManyRequests(`${this.d.previewConcurrency ?? 4} previews are fetching already (subordinates.preview_concurrency): try again when one has finished`)
    return running
  }

  private async previewOf(entityId: string): Promise<OnboardingPreview> {
    const problems: string[] = []
    const member = await this.d.store.get<SubordinateRecord>('subordinates', entityId)
    if (member) problems.push(`entity_id: ${entityId} is already a subordinate (status ${member.status})`)
    let ec: Statement
    try {
      ec = await this.readConfiguration(entityId)
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err
      return { entity_id: entityId, acceptable: false, problems: [...problems, err.message], entity_configuration: null }
    }
    const claims = ec.claims
    const found = onboardingFields(claims)
    const now = this.d.clock.now()
    const check = async (what: () => unknown): Promise<boolean> => {
      try {
        await what()
        return true
      } catch (err) {
        if (!(err instanceof FederationError)) throw err
        problems.push(err.message)
        return false
      }
    }
    await check(() => this.hintsUs(entityId, claims))
    const keysOk = await check(() => this.checks.jwks(claims.jwks, `the entity configuration of ${entityId}`))
    const record: SubordinateRecord = {
      id: entityId, entity_id: entityId, status: 'active', jwks: claims.jwks, entity_types: found.entity_types, intermediate: found.intermediate,
      ...(found.trust_mark_types.length ? { trust_mark_types: found.trust_mark_types } : {}), created_at: now, updated_at: now,
    }
    // The subordinate statement onboarding would sign, through the resolver's own checks.
    if (keysOk) await check(() => this.checks.statement(record, now))
    return {
      entity_id: entityId,
      acceptable: problems.length === 0,
      problems,
      entity_configuration: { jwt: ec.jwt, header: ec.header, payload: claims },
      authority_hints: Array.isArray(claims.authority_hints) ? claims.authority_hints : [],
      metadata: claims.metadata ?? {},
      would_onboard: { entity_types: found.entity_types, intermediate: found.intermediate, trust_mark_types: found.trust_mark_types, kids: keyIds(claims.jwks) },
    }
  }

  /**
   * The member's own entity configuration (spec "Obtaining Federation Entity Configuration
   * Information"): fetched, self-signature, typ and times verified; InvalidRequest saying why not.
   */
  private async readConfiguration(entityId: string): Promise<Statement> {
    const budget = this.d.budget?.()
    const deps = { source: directSource(this.d.fetcher, this.d.clock), clock: this.d.clock, skew: this.d.skew }
    const read = () => fetchEntityConfiguration(entityId, deps, budget)
    try {
      return await (budget ? budget.run(read) : read())
    } catch (err) {
      if (isUnobtainable(err)) throw new InvalidRequest(`the entity configuration of ${entityId} could not be fetched: ${(err as Error).message}`, { cause: err })
      if (err instanceof ChainError) throw new InvalidRequest(`the entity configuration is not acceptable: ${err.statement}: ${err.message}`, { cause: err })
      throw err
    }
  }

  private hintsUs(entityId: string, ec: EntityStatement): void {
    if (!Array.isArray(ec.authority_hints) || !ec.authority_hints.includes(this.d.entityId)) {
      throw new InvalidRequest(`the entity configuration of ${entityId} does not name ${this.d.entityId} in authority_hints`)
    }
  }

  /** Fetches and checks the member's own entity configuration for onboarding without jwks. */
  private async inspect(entityId: string) {
    let ec: EntityStatement
    try {
      ec = (await this.readConfiguration(entityId)).claims
    } catch (err) {
      if (err instanceof InvalidRequest) throw new InvalidRequest(`jwks: not given, and ${err.message}`, { cause: err.cause })
      throw err
    }
    this.hintsUs(entityId, ec)
    return { jwks: ec.jwks, ...onboardingFields(ec) }
  }
}

/** What onboarding takes from a member's entity configuration besides its keys. */
/**
 * The kids of a member's jwks as published: only string kids of JSON object keys (a verified
 * configuration may still carry other keys, a null or a kid that is an object, which the
 * checks refuse, and the preview shows beside that refusal).
 */
function keyIds(jwks: unknown): string[] {
  const keys = isJsonObject(jwks) ? own(jwks, 'keys') : undefined
  if (!Array.isArray(keys)) return []
  return keys.flatMap((k) => {
    const kid = isJsonObject(k) ? own(k, 'kid') : undefined
    return typeof kid === 'string' ? [kid] : []
  })
}

function onboardingFields(ec: EntityStatement): { entity_types: string[]; intermediate: boolean; trust_mark_types: string[] } {
  const fe = ec.metadata?.federation_entity ?? {}
  return {
    entity_types: Object.keys(ec.metadata ?? {}),
    intermediate: typeof fe.federation_fetch_endpoint === 'string',
    trust_mark_types: Array.isArray(ec.trust_marks)
      ? ec.trust_marks.map((t) => t?.trust_mark_type).filter((t): t is string => typeof t === 'string')
      : [],
  }
}

/** POST /admin/subordinates/preview: what onboarding would find and refuse, nothing written. */
export interface OnboardingPreview {
  entity_id: string
  /** True when onboarding `{entity_id}` (without jwks) would succeed now. */
  acceptable: boolean
  /** Each refusal onboarding would answer, in the words it would use. */
  problems: string[]
  /** Verified (self-signed, typ, times); null when it could not be fetched or verified (the problem says why). */
  entity_configuration: { jwt: string; header: Statement['header']; payload: EntityStatement } | null
  authority_hints?: string[]
  metadata?: Metadata
  /** The record onboarding would store (without the keys, which are the configuration's jwks). */
  would_onboard?: { entity_types: string[]; intermediate: boolean; trust_mark_types: string[]; kids: string[] }
}

const OPTIONAL_FIELDS = ['metadata', 'metadata_policy', 'constraints', 'crit', 'metadata_policy_crit', 'source_endpoint'] as const

function pick(body: SubordinateInput): Partial<SubordinateRecord> {
  const out: Record<string, unknown> = {}
  for (const f of OPTIONAL_FIELDS) if (body[f] !== undefined) out[f] = body[f]
  return out
}

/** `cur` with the patch applied: a property set to null is removed. */
function applyPatch(cur: SubordinateRecord, patch: SubordinatePatch, now: number): SubordinateRecord {
  const next: Record<string, unknown> = { ...cur, updated_at: now }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k]
    else next[k] = v
  }
  return next as SubordinateRecord
}
