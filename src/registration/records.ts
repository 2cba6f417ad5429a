/**
 * Client registrations as stored (collection `registrations`, id = client id = entity id; for a
 * metadata document client, id = client id = the document's URL, entity_id = the entity vouching for it).
 * Every write is one atomic read-modify-write of one record, so several instances sharing
 * a store agree: a registration keeps its `rid` while it is merely re-evaluated, and gets
 * a new one when it is replaced (a new Explicit Registration, or a first contact after the
 * old one ended). Tokens carry the rid they were issued under, so replacing, invalidating
 * or revoking a registration deactivates its tokens at once (spec "Processing Explicit
 * Client Registration Request by OP", step 7: the previous registration is invalidated).
 */
import { randomBytes } from 'node:crypto'
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import { NotFound, InvalidRequest } from '../errors.js'
import type { Jwks, Metadata } from '../types.js'

/** `dynamic`: RFC 7591 registration with a software statement (authorization_server/dynamic_registration.ts). */
export type RegistrationType = 'automatic' | 'explicit' | 'metadata_document' | 'dynamic'

/**
 * What an RFC 7591 registration keeps beside the common fields: the statement it was made
 * with (its JWT is `request`), and hashes of the credentials it handed out (never the values).
 */
export interface DynamicFields {
  software_id: string
  /** The statement's issuer and jti (the issuer's records say whether it was revoked). */
  statement_iss: string
  statement_jti: string
  token_endpoint_auth_method: 'private_key_jwt' | 'client_secret_basic' | 'client_secret_post'
  /** base64url SHA-256 of the client secret (a client without keys only). */
  client_secret_hash?: string
  /** base64url SHA-256 of the registration access token (RFC 7592). */
  registration_access_token_hash: string
  client_id_issued_at: number
}
export type RegistrationStatus = 'active' | 'invalidated' | 'revoked'

/** What a resolution produces: a registration without its identity and history. */
export interface RegistrationFields {
  registration_type: RegistrationType
  /** The entity type whose metadata authenticates the client (oauth_client, openid_relying_party or oauth_resource). */
  entity_type: string
  trust_anchor: string
  /** The client's immediate superior in the chosen chain. */
  authority_hint?: string
  /** Resolved metadata (policy applied) of the client entity types found, and federation_entity's (who the client is, for consent). */
  metadata: Metadata
  /** Keys that authenticate the client (from metadata jwks, jwks_uri or signed_jwks_uri); none for a public metadata document client. */
  jwks: Jwks
  jwks_source: 'jwks' | 'jwks_uri' | 'signed_jwks_uri' | 'none'
  /** Expiration of the chain (and of anything else the registration relies on). */
  chain_exp: number
  /** Entity ids of the chain the registration resolved: the client first, the trust anchor last. */
  chain?: string[]
  /** Trust marks verified in the chain for `registration.required_trust_marks` (type and issuer; empty when none is required). */
  trust_marks?: Array<{ trust_mark_type: string; trust_mark_issuer: string }>
  /** Explicit registrations: the request (an entity configuration), re-resolved at re-evaluation; dynamic ones: the software statement, verified again. */
  request?: string
  /**
   * The federation entity whose chain was resolved, when it is not the client id: a metadata
   * document client's vouching entity (metadata_document.ts). Default: the client id.
   */
  entity_id?: string
  /** A metadata document client: its document, validated and bounded by the entity's resolved metadata. */
  document?: DocumentClient
  /** A metadata document client: when its document must be read again (its HTTP caching lifetime, clamped). */
  document_exp?: number
  /**
   * Re-evaluated at this time at the latest, even before trust_reevaluation has passed since
   * evaluated_at (dynamic registrations: trust_reevaluation after the status answer relied on
   * was given, and when a jwks_uri key set stops being fresh).
   */
  due_at?: number
  /** Dynamic registrations (RFC 7591) only. */
  dynamic?: DynamicFields
}

/** What a metadata document client is registered with (registration/metadata_document.ts). */
export interface DocumentClient {
  token_endpoint_auth_method: string
  redirect_uris: string[]
  grant_types: string[]
  scope?: string
  /** client_name, logo_uri, client_uri, policy_uri, tos_uri: the client's own words, strings only. */
  display: Record<string, string>
  application_type?: 'web' | 'native'
}

export interface Registration extends StoredRecord, RegistrationFields {
  id: string
  entity_id: string
  client_id: string
  status: RegistrationStatus
  /** Identifies this registration among the client's successive ones; tokens carry it. */
  rid: string
  registered_at: number
  evaluated_at: number
  /** Why the registration ended (invalidated, revoked). */
  reason?: string
  ended_at?: number
  ended_by?: string
}

const newRid = () => randomBytes(12).toString('base64url')

export class RegistrationStore {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  get(clientId: string): Promise<Registration | undefined> {
    return this.store.get<Registration>('registrations', clientId)
  }

  /**
   * Stores a registration made from a fresh resolution. `replace` (Explicit Registration)
   * always starts a new registration; otherwise an active one keeps its rid. Returns
   * undefined when the client is revoked.
   */
  async save(clientId: string, fields: RegistrationFields, replace: boolean): Promise<Registration | undefined> {
    const now = this.clock.now()
    const stored = await this.store.update<Registration>('registrations', clientId, (cur) => {
      if (cur?.status === 'revoked') return undefined
      const keep = !replace && cur?.status === 'active'
      return {
        ...fields, id: clientId, entity_id: fields.entity_id ?? clientId, client_id: clientId, status: 'active',
        rid: keep ? cur.rid : newRid(), registered_at: keep ? cur.registered_at : now, evaluated_at: now,
        expires_at: fields.chain_exp,
      }
    })
    return stored?.status === 'active' ? stored : undefined
  }

  /** After a successful re-evaluation of registration `rid`; undefined when it changed meanwhile. */
  async refresh(reg: Registration, fields: RegistrationFields): Promise<Registration | undefined> {
    const now = this.clock.now()
    const stored = await this.store.update<Registration>('registrations', reg.id, (cur) =>
      cur?.status === 'active' && cur.rid === reg.rid ? { ...cur, ...fields, evaluated_at: now, expires_at: fields.chain_exp } : undefined)
    return stored?.status === 'active' && stored.rid === reg.rid ? stored : undefined
  }

  /** Replaces the keys of registration `rid` (a rotation at its jwks_uri); undefined when it changed meanwhile. */
  async rekey(reg: Registration, jwks: Jwks): Promise<Registration | undefined> {
    const stored = await this.store.update<Registration>('registrations', reg.id, (cur) =>
      cur?.status === 'active' && cur.rid === reg.rid ? { ...cur, jwks } : undefined)
    return stored?.status === 'active' && stored.rid === reg.rid ? stored : undefined
  }

  /**
   * Ends registration `rid` because its trust chain no longer resolves; kept (until its old
   * expiry) to say why. True when registration `rid` is ended (by this call or a concurrent
   * one), false when the client has another registration by now.
   */
  async invalidate(reg: Registration, reason: string): Promise<boolean> {
    const now = this.clock.now()
    const stored = await this.store.update<Registration>('registrations', reg.id, (cur) =>
      cur?.status === 'active' && cur.rid === reg.rid ? { ...cur, status: 'invalidated', reason, ended_at: now } : undefined)
    return stored?.rid === reg.rid && stored.status !== 'active'
  }

  /** Operator kill-switch: durable (no expiry), so automatic registration cannot bring the client back. */
  async revoke(clientId: string, actor: string, reason: string | undefined): Promise<Registration> {
    const now = this.clock.now()
    const stored = await this.store.update<Registration>('registrations', clientId, (cur) => {
      if (!cur || cur.status === 'revoked') return undefined
      const rest: Registration = { ...cur }
      delete rest.expires_at
      return { ...rest, status: 'revoked', reason: reason ?? 'revoked by the operator', ended_at: now, ended_by: actor }
    })
    if (!stored) throw new NotFound(`${clientId} has no registration`)
    return stored
  }

  /** Lifts a revocation: the record is removed, and the client may register again. */
  async reinstate(clientId: string): Promise<void> {
    const cur = await this.get(clientId)
    if (!cur) throw new NotFound(`${clientId} has no registration`)
    if (cur.status !== 'revoked') throw new InvalidRequest(`${clientId} is not revoked`)
    await this.store.remove('registrations', clientId)
  }

  page(o: { after?: string; limit: number; status?: RegistrationStatus }): Promise<Registration[]> {
    return this.store.list<Registration>('registrations', {
      limit: o.limit,
      ...(o.after !== undefined ? { after: o.after } : {}),
      ...(o.status ? { where: { status: o.status } } : {}),
    })
  }
}
