/**
 * A member's page in the operator console (docs/admin-api.md, "Member detail and
 * dependents"): its record, its subordinate statement as issued, the trust marks issued to
 * it, and what depends on it here: the clients registered from it, the clients whose
 * software statement it issued, and, for an intermediate, the entities known below it (from
 * the chains registrations resolved through it), with their active tokens. So that a
 * suspend or remove confirmation can say what will stop working.
 *
 * Everything is read through store indexes (registrations by entity_id and by chain,
 * tokens by client_id, trust marks by sub) and bounded: at most MAX_DEPENDENTS
 * registrations are looked at (`truncated` says when there were more).
 */
import type { Federation } from '../../federation.js'
import { FederationError } from '../../errors.js'
import { decodeUnverified } from '../../crypto/jwt.js'
import type { Registration } from '../../registration/records.js'
import { recordStatus, type IssuedTrustMarkRecord } from '../../trust_marks/records.js'
import type { SubordinateRecord } from '../../subordinates/registry.js'

/** Registrations looked at per member (its own, through its statements, below it). */
export const MAX_DEPENDENTS = 10_000
/** Clients listed by name in each group of the answer (all are counted). */
export const LISTED_CLIENTS = 100
const PAGE = 500

export interface DependentClient {
  client_id: string
  status: string
  registration_type: string
  entity_id: string
  trust_anchor: string
  active_tokens: number
  software_id?: string
}

interface Group {
  /** Registrations in the group (every status). */
  clients: number
  /** Of them, active ones: those that stop working. */
  active_clients: number
  /** Unexpired access tokens of the active ones, as introspection would still accept them. */
  active_tokens: number
  /** The first LISTED_CLIENTS, in client id order. */
  items: DependentClient[]
}

export interface Dependents {
  entity_id: string
  status: SubordinateRecord['status']
  intermediate: boolean
  /** Registrations of the member itself (entity_id = the member: its federation clients, metadata document clients it vouches for). */
  clients: Group
  /** RFC 7591 clients registered with a software statement the member issued. */
  software_clients: Group
  /** Registrations whose trust chain runs through the member from below (an intermediate's subordinates and theirs). */
  below: Group & {
    /** Distinct entity ids below the member known here (the first LISTED_CLIENTS of them in `entity_ids`). */
    entities: number
    entity_ids: string[]
  }
  totals: { clients: number; active_clients: number; active_tokens: number }
  /** More than MAX_DEPENDENTS registrations name the member: counts cover the first ones only. */
  truncated?: true
}

const group = (): Group => ({ clients: 0, active_clients: 0, active_tokens: 0, items: [] })

export async function dependentsOf(f: Federation, entityId: string): Promise<Dependents> {
  const rec = await f.subordinates.get(entityId)
  const store = f.store
  const own = group()
  const software = group()
  const below = { ...group(), entities: 0, entity_ids: [] as string[] }
  const belowIds = new Set<string>()
  const seen = new Set<string>()
  let truncated = false

  const add = async (g: Group, r: Registration): Promise<void> => {
    g.clients++
    const active = r.status === 'active'
    const tokens = active ? await store.count('tokens', { client_id: r.client_id, rid: r.rid }) : 0
    if (active) g.active_clients++
    g.active_tokens += tokens
    if (g.items.length < LISTED_CLIENTS) {
      g.items.push({
        client_id: r.client_id, status: r.status, registration_type: r.registration_type, entity_id: r.entity_id,
        trust_anchor: r.trust_anchor, active_tokens: tokens, ...(r.dynamic ? { software_id: r.dynamic.software_id } : {}),
      })
    }
  }
  /** Pages through the registrations matching `where`, at most MAX_DEPENDENTS in all. */
  const each = async (where: Record<string, string>, visit: (r: Registration) => Promise<void>): Promise<void> => {
    for (let after: string | undefined; ;) {
      const page = await store.list<Registration>('registrations', { where, limit: PAGE, ...(after !== undefined ? { after } : {}) })
      for (const r of page) {
        if (seen.has(r.id)) continue
        if (seen.size >= MAX_DEPENDENTS) {
          truncated = true
          return
        }
        seen.add(r.id)
        await visit(r)
      }
      if (page.length < PAGE) return
      after = page.at(-1)!.id
    }
  }

  await each({ entity_id: entityId }, (r) => add(own, r))
  await each({ chain: entityId }, async (r) => {
    if (r.registration_type === 'dynamic' && r.dynamic?.statement_iss === entityId) return add(software, r)
    // Below the member: the chain runs from the client up through the member.
    const at = r.chain?.indexOf(entityId) ?? -1
    if (at <= 0) return
    await add(below, r)
    for (const id of r.chain!.slice(0, at)) {
      if (id === r.client_id && r.entity_id !== r.client_id) continue // a metadata document URL is no entity
      belowIds.add(id)
    }
  })
  below.entities = belowIds.size
  below.entity_ids = [...belowIds].sort().slice(0, LISTED_CLIENTS)
  const groups = [own, software, below]
  return {
    entity_id: rec.entity_id, status: rec.status, intermediate: rec.intermediate,
    clients: own, software_clients: software, below,
    totals: {
      clients: groups.reduce((n, g) => n + g.clients, 0),
      active_clients: groups.reduce((n, g) => n + g.active_clients, 0),
      active_tokens: groups.reduce((n, g) => n + g.active_tokens, 0),
    },
    ...(truncated ? { truncated: true as const } : {}),
  }
}

export interface TrustMarkHeld {
  trust_mark_type: string
  status: string
  iat: number
  exp?: number
  revoked_at?: number
}

export interface MemberDetail {
  member: SubordinateRecord
  /** The subordinate statement this entity serves at its fetch endpoint now (null while suspended). */
  statement: { jwt: string; header: Record<string, unknown>; payload: Record<string, unknown> } | null
  statement_error?: string
  /** Trust marks this entity issued to the member (its trust mark records). */
  trust_marks: TrustMarkHeld[]
  dependents: Dependents
}

export async function memberDetail(f: Federation, entityId: string): Promise<MemberDetail> {
  const member = await f.subordinates.get(entityId)
  let statement: MemberDetail['statement'] = null
  let statementError: string | undefined
  if (member.status !== 'active') statementError = `not issued: the member is ${member.status}`
  else {
    try {
      const jwt = await f.publisher.subordinateStatement(entityId)
      const { header, payload } = decodeUnverified(jwt)
      statement = { jwt, header, payload }
    } catch (err) {
      // Suspended or removed meanwhile: said, not a failure of the page.
      if (!(err instanceof FederationError)) throw err
      statementError = err.message
    }
  }
  const now = f.clock.now()
  const marks = await f.store.list<IssuedTrustMarkRecord>('trust_marks', { where: { sub: entityId }, limit: 1000 })
  return {
    member,
    statement,
    ...(statementError !== undefined ? { statement_error: statementError } : {}),
    trust_marks: marks.map((m) => ({
      trust_mark_type: m.trust_mark_type, status: recordStatus(m, now), iat: m.iat,
      ...(m.exp !== undefined ? { exp: m.exp } : {}), ...(m.revoked_at !== undefined ? { revoked_at: m.revoked_at } : {}),
    })),
    dependents: await dependentsOf(f, entityId),
  }
}
