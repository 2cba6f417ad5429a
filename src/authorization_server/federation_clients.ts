/**
 * oidc-provider's client lookup over federation registrations (spec "OpenID Connect Client
 * Registration"): a client_id is an entity identifier; one with an active registration is
 * re-evaluated when due (spec "Registration Validity and Trust Reevaluation"), one without
 * is registered automatically now (spec "Automatic Registration"), within the request's
 * work budget and the failure cache (registration/registrar.ts). A revoked or invalidated
 * registration, or a chain that no longer resolves, gives no client: oidc-provider then
 * answers invalid_client, and the refusal says why.
 *
 * The client's metadata is the resolved, policy-applied metadata of its chain mapped to
 * oidc-provider client properties; keys oidc-provider does not know, or this server does
 * not serve, are dropped. Authentication is private_key_jwt only (spec "Automatic
 * Registration": asymmetric cryptography MUST be used).
 */
import type { ClientMetadata } from 'oidc-provider'
import type { RegistrationDeps } from '../registration/deps.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import { FederationError } from '../errors.js'
import { RegistrationRefused, type Registrar } from '../registration/registrar.js'
import type { Registration, RegistrationFields } from '../registration/records.js'
import { AUTH_METHOD, CLIENT_TYPES, grantTypes } from '../registration/client_metadata.js'
import type { PresentedChain } from '../trust_chain/presented_chain.js'
import { verifyAssertion, ASSERTION_ALGS } from './client_auth.js'
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, errors as errorsJose } from 'jose'
import type { Jwks } from '../types.js'
import { requestContext, type RequestContext } from './request_context.js'
import { isDocumentUrl } from '../registration/metadata_document.js'
import { isDynamicClientId } from './dynamic_client_id.js'

/** What oidc-provider's Client model asks of its source (the store adapter delegates here). */
export interface ClientSource {
  find(id: string): Promise<ClientMetadata | undefined>
}

/**
 * An OAuth error oidc-provider renders as is: its error handler reads `expose`, `message`
 * (the code), `error_description` and `statusCode` (the shape of its own errors, so this
 * module does not load oidc-provider: it is loaded only when the role is enabled).
 */
export class ProviderError extends Error {
  readonly error: string
  readonly status: number
  readonly statusCode: number
  readonly expose = true
  readonly allow_redirect = true
  /** `audited`: the refusal is in the audit log already (the registrar's). */
  constructor(status: number, error: string, readonly error_description: string, readonly audited = false, cause?: unknown) {
    super(error, cause === undefined ? undefined : { cause })
    this.name = 'ProviderError'
    this.error = error
    this.status = status
    this.statusCode = status
  }
}

/** A FederationError as oidc-provider renders errors; 5xx ones stay server errors. */
export function providerError(err: unknown): unknown {
  if (err instanceof FederationError && err.status < 500) return new ProviderError(err.status, err.error, err.message, err instanceof RegistrationRefused, err)
  return err
}

export interface FederationClientsOptions {
  /** Grant types the provider serves: a client's are narrowed to these. */
  grantTypes: ReadonlySet<string>
  /** Scopes the provider knows (its `scopes`): a client's are narrowed to these. */
  scopes?: ReadonlySet<string>
}

const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined)
const str = (o: Record<string, unknown>, k: string): string | undefined => {
  const v = own(o, k)
  return typeof v === 'string' ? v : undefined
}
/** Grants a metadata document client may have: the authorization code flow (a user is present). */
const DOCUMENT_GRANTS: readonly string[] = ['authorization_code', 'refresh_token']
/** Display and policy URLs and names oidc-provider knows, copied when they are strings. */
const TEXT_PROPERTIES = ['client_name', 'logo_uri', 'client_uri', 'policy_uri', 'tos_uri'] as const
/** Algorithms the RP asked for, copied when they are strings (oidc-provider validates them against its own). */
const ALG_PROPERTIES = [
  'request_object_signing_alg', 'id_token_signed_response_alg', 'userinfo_signed_response_alg',
  'authorization_signed_response_alg', 'token_endpoint_auth_signing_alg',
] as const

export class FederationClients implements ClientSource {
  constructor(
    private readonly f: RegistrationDeps,
    private readonly registrar: Registrar,
    private readonly o: FederationClientsOptions,
  ) {}

  async find(id: string): Promise<ClientMetadata | undefined> {
    // Spec "Automatic Registration": the client_id is the client's entity identifier; or one
    // this server gave a client at RFC 7591 registration (dynamic_registration.ts).
    if (!isEntityIdSyntax(id) && !isDynamicClientId(id)) return undefined
    const ctx = requestContext()
    const refused = ctx?.refusals?.get(id)
    if (refused !== undefined) throw refused
    try {
      const reg = await this.registration(id, ctx)
      return reg ? this.metadata(reg) : undefined
    } catch (err) {
      const out = providerError(err)
      if (ctx && out instanceof Error) (ctx.refusals ??= new Map()).set(id, out)
      throw out
    }
  }

  /** The client's active registration for this request (made now on first contact). */
  private async registration(id: string, ctx: RequestContext | undefined): Promise<Registration | undefined> {
    const known = ctx?.registrations.get(id)
    if (known) return known
    const budget = ctx?.budget ?? this.registrar.budget()
    if (ctx) ctx.budget = budget
    const reg = await this.registrar.registered(id)
    if (isDynamicClientId(id)) {
      // Registered only at the registration endpoint: no first contact, no trust chain of its own.
      if (!reg) {
        const ended = await this.registrar.records.get(id)
        if (ended) throw new ProviderError(401, 'invalid_client', `${id}: the registration has ended (${ended.status})${ended.reason ? `: ${ended.reason}` : ''}`)
        return undefined
      }
      // Keys at the statement's jwks_uri: a kid not yet known may be a rotation there (read again, rate-limited).
      const kid = presentedKid(id, ctx)
      const current = kid !== undefined && reg.jwks_source === 'jwks_uri' && this.registrar.dynamicKeys && !reg.jwks.keys.some((k) => k.kid === kid)
        ? await this.registrar.dynamicKeys(reg)
        : reg
      this.checkGrant(current, ctx)
      ctx?.registrations.set(id, current)
      return current
    }
    // A presented chain is verified whenever present (spec "Processing the Authentication Request": the OP MUST fully verify it).
    const presented = ctx?.trustChain?.clientId === id ? await this.presented(id, ctx.trustChain, budget) : undefined
    let out = reg
    // Precedence (docs/authorization-server.md, "Clients identified by a metadata document"): an
    // active registration first, whatever its kind; then the client_id as an entity id
    // (automatic registration); only when it is no federation entity, and is an https URL with
    // a path, the metadata document at that URL.
    let entity: RegistrationFields | undefined
    if (!out && !presented && this.registrar.documents && isDocumentUrl(id)) {
      const contact = await this.registrar.entityOrDocumentContact(id, budget)
      // No proof of possession is asked of a document client here: the registration states public facts only (the
      // document and the federation's statements); a private_key_jwt client still authenticates at the token endpoint.
      if (contact.document) out = await this.registrar.commit(id, contact.fields)
      else entity = contact.fields
    }
    if (!out) {
      const candidate = entity ?? await this.registrar.firstContact(id, presented, budget)
      // A first contact is stored only once the client proved possession of a key of its resolved metadata.
      const a = ctx?.assertion
      const ro = ctx?.requestObject
      if (a?.clientId === id) await verifyAssertion(a, candidate.jwks, this.f)
      else if (ro?.clientId === id) await this.verifyRequestObject(ro, candidate.jwks)
      else if (ctx?.requireProof) {
        throw new ProviderError(400, 'invalid_request', `${id} is not registered: automatic registration needs a request object signed with a key of its resolved metadata, or a pushed authorization request (spec "Automatic Registration")`)
      }
      out = await this.registrar.commit(id, candidate)
    }
    this.checkGrant(out, ctx)
    ctx?.registrations.set(id, out)
    return out
  }

  private async presented(id: string, tc: NonNullable<RequestContext['trustChain']>, budget: ReturnType<Registrar['budget']>): Promise<PresentedChain> {
    try {
      return await this.registrar.presented(tc.value, id, { budget })
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) throw new ProviderError(401, 'invalid_client', `${tc.where}: ${err.message}`, false, err)
      throw err
    }
  }

  private async verifyRequestObject(ro: NonNullable<RequestContext['requestObject']>, jwks: Jwks): Promise<void> {
    // The signature only: its claims are oidc-provider's to check (assertRequestObject in provider.ts).
    try {
      await compactVerify(ro.jwt, createLocalJWKSet(jwks), { algorithms: [...ASSERTION_ALGS] })
    } catch (err) {
      const why = err instanceof errorsJose.JWKSNoMatchingKey ? "its key is not in the client's resolved metadata" : 'its signature does not verify with the client\'s resolved metadata keys'
      throw new ProviderError(400, 'invalid_request_object', `request object: ${why}`, false, err)
    }
  }

  /** RFC 6749 section 5.2 unauthorized_client, said once the client is known (and before any token work). */
  private checkGrant(reg: Registration, ctx: RequestContext | undefined): void {
    const grant = ctx?.grantType
    if (grant === undefined || !this.o.grantTypes.has(grant)) return
    if (!CLIENT_TYPES.includes(reg.entity_type)) throw new ProviderError(400, 'unauthorized_client', `${reg.client_id} is registered as ${reg.entity_type}, not as a client`)
    if (reg.document) {
      if (!this.documentGrants(reg.document).includes(grant)) throw new ProviderError(400, 'unauthorized_client', `grant_type ${grant} is not among the grant_types of ${reg.client_id} (its metadata document, bounded by ${reg.entity_id}'s resolved metadata)`)
      return
    }
    const md = reg.metadata[reg.entity_type] ?? {}
    if (grant !== 'refresh_token' && !grantTypes(md).includes(grant)) {
      throw new ProviderError(400, 'unauthorized_client', `grant_type ${grant} is not among the grant_types of ${reg.client_id}'s resolved metadata (${grantTypes(md).join(', ')})`)
    }
  }

  /** Grant types of a metadata document client: the bounded document's, of the authorization code flow, that the provider serves. */
  private documentGrants(d: NonNullable<Registration['document']>): string[] {
    return d.grant_types.filter((g) => DOCUMENT_GRANTS.includes(g) && this.o.grantTypes.has(g))
  }

  /** A metadata document client as oidc-provider client properties: its document, bounded by the federation. */
  private documentMetadata(reg: Registration, d: NonNullable<Registration['document']>): ClientMetadata {
    const out: ClientMetadata = {
      client_id: reg.client_id,
      token_endpoint_auth_method: d.token_endpoint_auth_method as ClientMetadata['token_endpoint_auth_method'],
      grant_types: this.documentGrants(d),
      response_types: ['code'],
      redirect_uris: [...d.redirect_uris],
      ...(d.token_endpoint_auth_method === AUTH_METHOD ? { jwks: { keys: reg.jwks.keys.map((k) => ({ ...k })) } } : {}),
      ...(d.application_type ? { application_type: d.application_type } : {}),
    }
    if (d.scope !== undefined && this.o.scopes) out.scope = d.scope.split(' ').filter((s) => this.o.scopes!.has(s)).join(' ')
    for (const k of TEXT_PROPERTIES) {
      const v = Object.hasOwn(d.display, k) ? d.display[k] : undefined
      if (typeof v === 'string') out[k] = v
    }
    return out
  }

  /** The registration as oidc-provider client properties. */
  metadata(reg: Registration): ClientMetadata {
    if (reg.registration_type === 'metadata_document' && reg.document) return this.documentMetadata(reg, reg.document)
    const md = (reg.metadata[reg.entity_type] ?? {})
    const client = CLIENT_TYPES.includes(reg.entity_type)
    const grants = client ? grantTypes(md).filter((g) => this.o.grantTypes.has(g)) : []
    const code = grants.includes('authorization_code')
    const out: ClientMetadata = {
      client_id: reg.client_id,
      token_endpoint_auth_method: AUTH_METHOD,
      jwks: { keys: reg.jwks.keys.map((k) => ({ ...k })) },
      grant_types: grants,
      response_types: code ? ['code'] : [],
      redirect_uris: code ? redirectUris(md) : [],
    }
    const dyn = reg.dynamic
    if (dyn && dyn.token_endpoint_auth_method !== AUTH_METHOD) {
      // A client without keys (RFC 7591): a secret, of which the store holds the hash only
      // (provider.ts compares a presented secret with it).
      out.token_endpoint_auth_method = dyn.token_endpoint_auth_method
      out.client_secret = dyn.client_secret_hash ?? ''
      delete out.jwks
    }
    // The client's scopes the provider knows (its `scopes`: OpenID Connect's and scopes_supported).
    // None known: a client of the code flow keeps the empty list (oidc-provider refuses it as
    // invalid client metadata: no scope of its metadata can be granted, and no `scope` would
    // mean every scope); any other client gets no `scope`, for its scopes are bounded by
    // tokens.ts from its resolved metadata, not by the provider's list.
    const scope = str(md, 'scope')
    const known = scope !== undefined && this.o.scopes ? scope.split(' ').filter((s) => this.o.scopes!.has(s)) : undefined
    if (known && (known.length || code)) out.scope = known.join(' ')
    for (const k of TEXT_PROPERTIES) {
      const v = str(md, k)
      if (v !== undefined) out[k] = v
    }
    for (const k of ALG_PROPERTIES) {
      const v = str(md, k)
      if (v !== undefined) (out as Record<string, unknown>)[k] = v
    }
    return out
  }
}

/** The kid of the key the request's client assertion or request object of client `id` says it is signed with. */
function presentedKid(id: string, ctx: RequestContext | undefined): string | undefined {
  if (ctx?.assertion?.clientId === id) return ctx.assertion.kid
  const ro = ctx?.requestObject
  if (ro?.clientId !== id) return undefined
  try {
    const { kid } = decodeProtectedHeader(ro.jwt)
    return typeof kid === 'string' ? kid : undefined
  } catch {
    return undefined
  }
}

function redirectUris(md: Record<string, unknown>): string[] {
  const v = own(md, 'redirect_uris')
  return Array.isArray(v) ? v.filter((u): u is string => typeof u === 'string') : []
}
