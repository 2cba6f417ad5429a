/**
 * oidc-provider's storage over Anchorage's Store: the `adapter` option of the provider
 * (`storeAdapter({ store, clock, clients })` returns the class it instantiates once per
 * model), so tokens, codes, grants, sessions and interactions live in the embedded store
 * or MongoDB like everything else, and survive restarts and span instances.
 *
 * One collection, `oauth`; one record per model instance:
 *
 *   { id: '<model>:<id>', model, payload: '<the payload as JSON>', expires_at?,
 *     grantId?, uid?, userCode?, clientId?, consumed? }
 *
 * - `expires_at` is the injected clock's now + expiresIn: the store then reads the record
 *   as absent (and eventually deletes it), which is what expiry means to oidc-provider.
 *   oidc-provider itself checks `exp` against real time as well (docs/storage.md).
 * - The payload is kept whole as JSON text: its keys come partly from outside (request
 *   parameters, client metadata) and never become field names of a stored document, so
 *   no key can collide with a store field or be refused by MongoDB (`$`, `.`).
 * - The lookup fields are top-level and indexed (INDEXED_FIELDS): `uid` (Session),
 *   `userCode` (DeviceCode), `grantId` (of the models revokeByGrantId removes), and
 *   `clientId` (what the kill-switch removes, `revokeByClientId`).
 *
 * Model `Client` is special: `find` asks the injected ClientSource first (federation
 * clients, admitted by their trust chain: CORE's FederationClients), then records stored
 * by `upsert` (dynamic registration). Static clients never reach the adapter.
 */
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider'
import type { Clock } from '../clock.js'
import type { Store, StoredRecord } from '../storage/types.js'

export const OAUTH_COLLECTION = 'oauth'

/** Where model `Client` finds clients before the stored ones: oidc-provider client metadata. */
export interface ClientSource {
  find(id: string): Promise<Record<string, unknown> | undefined>
}

export interface StoreAdapterDeps {
  store: Store
  clock: Clock
  clients: ClientSource
  /** After revokeByGrantId: what else belongs to the grant goes too (the records of its access tokens). */
  grantRevoked?: (grantId: string) => Promise<unknown>
}

/** A stored model instance (see the module comment). */
export interface OAuthRecord extends StoredRecord {
  model: string
  payload: string
  grantId?: string
  uid?: string
  userCode?: string
  clientId?: string
  consumed?: number
}

/** Models whose records carry `grantId` and go when their grant is revoked (as oidc-provider's own adapters do). */
export const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
])

/** Removed records are listed in pages of this many (revocations of large grants or clients). */
const PAGE = 500

const MODEL_NAME = /^[A-Za-z][A-Za-z0-9]*$/

const key = (model: string, id: string): string => `${model}:${id}`

/**
 * JSON text to a payload: a member named `__proto__` (at any depth) is dropped, so no
 * payload key, wherever it came from, can reach a prototype when oidc-provider copies
 * the payload onto its models. Everything else is JSON.parse's plain own data.
 */
function parsePayload(json: string): AdapterPayload {
  return JSON.parse(json, (k, v: unknown) => (k === '__proto__' ? undefined : v)) as AdapterPayload
}

/** The payload as JSON text (same rule: no `__proto__` member is kept). */
function serializePayload(payload: AdapterPayload): string {
  return JSON.stringify(payload, (k, v: unknown) => (k === '__proto__' ? undefined : v))
}

/** An own string member of the payload, if any (never an inherited one). */
function ownString(payload: object, name: string): string | undefined {
  if (!Object.hasOwn(payload, name)) return undefined
  const v: unknown = (payload as Record<string, unknown>)[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

function validId(id: unknown): id is string {
  return typeof id === 'string' && id !== ''
}

export class StoreAdapter implements Adapter {
  constructor(
    readonly model: string,
    private readonly deps: StoreAdapterDeps,
  ) {
    if (typeof model !== 'string' || !MODEL_NAME.test(model)) throw new TypeError(`invalid model name ${JSON.stringify(model)}`)
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (!validId(id)) throw new TypeError(`${this.model}: upsert needs a non-empty string id`)
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new TypeError(`${this.model}: upsert needs an object payload`)
    }
    const record: OAuthRecord = { id: key(this.model, id), model: this.model, payload: serializePayload(payload) }
    if (typeof expiresIn === 'number' && Number.isFinite(expiresIn)) {
      record.expires_at = this.deps.clock.now() + Math.ceil(expiresIn)
    }
    const grantId = GRANTABLE.has(this.model) ? ownString(payload, 'grantId') : undefined
    if (grantId !== undefined) record.grantId = grantId
    const uid = ownString(payload, 'uid')
    if (uid !== undefined) record.uid = uid
    const userCode = ownString(payload, 'userCode')
    if (userCode !== undefined) record.userCode = userCode
    const clientId = this.model === 'Client' ? undefined : ownString(payload, 'clientId')
    if (clientId !== undefined) record.clientId = clientId
    const consumed: unknown = Object.hasOwn(payload, 'consumed') ? payload.consumed : undefined
    if (typeof consumed === 'number' && Number.isFinite(consumed)) record.consumed = consumed
    await this.deps.store.put(OAUTH_COLLECTION, record)
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!validId(id)) return undefined
    if (this.model === 'Client') {
      const found = await this.deps.clients.find(id)
      if (found !== undefined) return found
    }
    return this.payloadOf(await this.deps.store.get<OAuthRecord>(OAUTH_COLLECTION, key(this.model, id)))
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findBy('uid', uid)
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findBy('userCode', userCode)
  }

  /** Marks the instance consumed (injected clock, epoch seconds); nothing when it is gone. */
  async consume(id: string): Promise<void> {
    if (!validId(id)) return
    const now = this.deps.clock.now()
    await this.deps.store.update<OAuthRecord>(OAUTH_COLLECTION, key(this.model, id), (current) =>
      current === undefined ? undefined : { ...current, consumed: now })
  }

  async destroy(id: string): Promise<void> {
    if (!validId(id)) return
    await this.deps.store.remove(OAUTH_COLLECTION, key(this.model, id))
  }

  /** Removes every token and code of the grant, whatever this adapter's model (oidc-provider's contract). */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (!validId(grantId)) return
    await removeWhere(this.deps.store, { grantId }, (r) => GRANTABLE.has(r.model))
    await this.deps.grantRevoked?.(grantId)
  }

  private async findBy(field: 'uid' | 'userCode', value: string): Promise<AdapterPayload | undefined> {
    if (!validId(value)) return undefined
    const [record] = await this.deps.store.list<OAuthRecord>(OAUTH_COLLECTION, { where: { [field]: value, model: this.model }, limit: 1 })
    return this.payloadOf(record)
  }

  private payloadOf(record: OAuthRecord | undefined): AdapterPayload | undefined {
    if (record === undefined || record.model !== this.model || typeof record.payload !== 'string') return undefined
    const payload = parsePayload(record.payload)
    if (typeof record.consumed === 'number') payload.consumed = record.consumed
    return payload
  }
}

/** Removes the records matching `where` that `take` accepts, page by page; returns how many, by model. */
async function removeWhere(
  store: Store,
  where: Record<string, string>,
  take: (record: OAuthRecord) => boolean,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = Object.create(null) as Record<string, number>
  for (let after: string | undefined; ;) {
    const page = await store.list<OAuthRecord>(OAUTH_COLLECTION, { where, after, limit: PAGE })
    for (const record of page) {
      if (take(record) && (await store.remove(OAUTH_COLLECTION, record.id))) removed[record.model] = (removed[record.model] ?? 0) + 1
    }
    if (page.length < PAGE) return removed
    after = page[page.length - 1]!.id
  }
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0)

/**
 * The kill-switch's storage half: removes every grant, token, code and request of the
 * client (each record whose payload names it as `clientId`), so its refresh tokens and
 * codes can no longer be redeemed and its tokens introspect inactive. Stored client
 * metadata (model Client) is kept: whether the client may come back is the registration's
 * business. Returns how many records were removed.
 */
export async function revokeByClientId(store: Store, clientId: string): Promise<number> {
  return total(await revokeClientRecords(store, clientId))
}

/** revokeByClientId, counted by model (`{ RefreshToken: 2, Grant: 1, ... }`): what the kill-switch's audit event says it revoked. */
export async function revokeClientRecords(store: Store, clientId: string): Promise<Record<string, number>> {
  if (!validId(clientId)) return Object.create(null) as Record<string, number>
  return removeWhere(store, { clientId }, (r) => r.model !== 'Client')
}

/** An adapter class that can also remove everything of one client (the kill-switch; memory and store adapters both can). */
export interface RevokesClients {
  /** Removes every grant, token, code and request of the client; how many, by model. */
  revokeClient(clientId: string): Promise<Record<string, number>>
}

/** The class oidc-provider's `adapter` option takes, bound to Anchorage's store, clock and clients. */
export function storeAdapter(deps: StoreAdapterDeps): AdapterConstructor & RevokesClients {
  return class extends StoreAdapter {
    constructor(model: string) {
      super(model, deps)
    }

    static revokeClient(clientId: string): Promise<Record<string, number>> {
      return revokeClientRecords(deps.store, clientId)
    }
  }
}
