/**
 * Registrations through trust chains (spec "OpenID Connect Client Registration"):
 * automatic registration on first contact, explicit registration from a request, and
 * re-evaluation (spec "Registration Validity and Trust Reevaluation"): a registration
 * never outlives its chain, and is resolved again once older than `trust_reevaluation`
 * seconds. A registration whose chain no longer resolves is invalidated on the spot.
 *
 * Registrations (first contact, explicit) reuse fetched statements for
 * `statement_cache_ttl` seconds (0: none), so a repeated or concurrent registration does
 * not fetch everything again: a member removed or suspended at its anchor or intermediate
 * can register no more once that has passed. Re-evaluation always reads the superiors'
 * current statements (its own resolver, no statement cache): a registered member loses its
 * registration at its next re-evaluation, at most `trust_reevaluation` seconds after its
 * removal. Parsed statements and signature results are always reused; statements this
 * deployment publishes itself are never cached, so removals here apply at once.
 *
 * `registration.required_trust_marks` (required_trust_marks.ts): a client is admitted, at
 * every registration and re-evaluation, only while its chain carries a valid trust mark of
 * each type required for the entity type it registers as.
 *
 * Cheap before expensive (spec "Denial-of-Service Attack Prevention"): every request's
 * chain work runs under one work budget (trust_chain/budget.ts), and a first contact that
 * failed is refused from memory for `failure_cache_ttl` seconds, so repeating it costs no
 * outbound request.
 */
import type { LRUCache } from 'lru-cache'
import type { RegistrationDeps } from './deps.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import type { LocalStatements } from '../trust_chain/source.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { brandError, FederationError, InvalidClient, InvalidTrustChain } from '../errors.js'
import { boundedLru } from '../util/lru.js'
import { Resolver } from '../trust_chain/resolver.js'
import { ResolveError, SubjectError } from '../trust_chain/errors.js'
import { BudgetExceeded, chargedFetcher, type Budget } from '../trust_chain/budget.js'
import { parseRequestConfiguration, type RequestConfiguration } from '../trust_chain/from_configuration.js'
import { verifyPresentedChain, type PresentedChain } from '../trust_chain/presented_chain.js'
import type { ResolvedChain, TrustAnchor } from '../trust_chain/types.js'
import type { TrustMarkVerifier } from '../trust_chain/trust_mark_verifier.js'
import { RequiredTrustMarks } from './required_trust_marks.js'
import { RegistrationStore, type Registration, type RegistrationFields, type RegistrationType } from './records.js'
import { REGISTRABLE_TYPES, CLIENT_TYPES, registeredType, registrableMetadata, metadataProblem, clientKeys, grantTypes, type ClientKeys } from './client_metadata.js'
import { MetadataDocuments, NOT_A_DOCUMENT, validateDocument, boundDocument } from './metadata_document.js'

/**
 * Revokes what the client holds once its registration ended (grants, refresh tokens, codes,
 * access token records) and says what, by kind, for the audit event of the cut-off.
 */
export type CutOff = (clientId: string) => Promise<Record<string, number>>

/** A refusal the registrar has already written to the audit log. */
export class RegistrationRefused extends FederationError {}
brandError(RegistrationRefused, 'RegistrationRefused')

export type RegistrarOptions = Pick<AuthorizationServerConfig, 'trust_reevaluation' | 'statement_cache_ttl' | 'failure_cache_ttl'>
  & Partial<Pick<AuthorizationServerConfig, 'client_id_metadata_documents' | 'metadata_document_max_bytes' | 'metadata_document_cache_min' | 'metadata_document_cache_max'>>

export interface RegistrarPorts {
  statements: LocalStatements
  anchors: TrustedAnchors
  /** Verifies the trust marks `registration.required_trust_marks` asks for (without one, no required mark is ever found). */
  verifier?: TrustMarkVerifier | undefined
  /** Grant types the authorization server serves: an explicit registration must ask for one of them (default client_credentials). */
  grantTypes?: readonly string[]
  /** Revokes what a client holds once its registration ended (the authorization server's cut-off). */
  cutOff?: CutOff
}

/** The entity types resolved for a client: the registrable ones, and federation_entity (organization name and logo, for consent). */
const RESOLVED_TYPES = [...REGISTRABLE_TYPES, 'federation_entity']

export class Registrar {
  readonly records: RegistrationStore
  private readonly resolver: Resolver
  /** For re-evaluation and first contacts after a cut-off: no statement cache, no failure cache (in-flight fetches are still shared). */
  private readonly fresh: Resolver
  private readonly reevaluations = new Map<string, Promise<Registration | string>>()
  private readonly reevaluation: number
  /** First contacts that failed, by client id and anchors, until when they are refused from memory. */
  private readonly failed: LRUCache<string, { error: FederationError; until: number }>
  private readonly required: RequiredTrustMarks
  private readonly grantTypes: readonly string[]

  /** The kill-switch's other half (the authorization server's): what a registration that ends takes with it. */
  private readonly cutOff: CutOff | undefined

  constructor(private readonly f: RegistrationDeps, private readonly o: RegistrarOptions, d: RegistrarPorts) {
    this.reevaluation = o.trust_reevaluation
    this.cutOff = d.cutOff
    this.failed = boundedLru(f.config.resolver.cache_entries)
    // A membership change here may make a failed client resolvable: forget the failures.
    f.changes.subscribe(() => this.failed.clear())
    this.records = new RegistrationStore(f.store, f.clock)
    const { config } = f
    this.required = new RequiredTrustMarks(config.registration.required_trust_marks)
    this.grantTypes = d.grantTypes ?? ['client_credentials']
    const base = {
      fetcher: f.fetcher, clock: f.clock, logger: f.logger.child({ component: 'registration' }), skew: config.clock_skew,
      limits: { ...config.resolver, cache_ttl_max: o.statement_cache_ttl },
      json: { maxDepth: config.limits.json_depth },
      anchors: d.anchors.anchors,
      pins: d.anchors.pins,
      local: d.statements,
      verifier: d.verifier,
    }
    this.anchors = base.anchors
    this.resolver = new Resolver(base)
    // No failure cache either: a member reinstated after its cut-off is admitted at its next request.
    this.fresh = new Resolver({ ...base, limits: { ...config.resolver, cache_ttl_max: 0, failure_ttl: 0 } })
    if (o.client_id_metadata_documents) {
      this.documents = new MetadataDocuments({
        fetcher: f.fetcher, clock: f.clock, entries: config.resolver.cache_entries, jsonDepth: config.limits.json_depth,
        maxBytes: o.metadata_document_max_bytes ?? 5_120, cacheMin: o.metadata_document_cache_min ?? 60, cacheMax: o.metadata_document_cache_max ?? 3_600,
      })
    }
  }

  /** Client ID Metadata Documents, when this server admits such clients (authorization_server.client_id_metadata_documents). */
  readonly documents: MetadataDocuments | undefined

  /** The trusted anchors, pinned keys included. */
  readonly anchors: () => Promise<TrustAnchor[]>

  /**
   * The resolver of a first contact: the fresh one (no statement cache) for a client whose
   * registration was invalidated, for the statements cached before its cut-off (up to
   * statement_cache_ttl, which may outlive trust_reevaluation) still show the chain that no
   * longer resolves, and would admit it again at once; the caching one otherwise.
   */
  private async resolverFor(clientId: string): Promise<Resolver> {
    return (await this.records.get(clientId))?.status === 'invalidated' ? this.fresh : this.resolver
  }

  /**
   * Re-evaluation of RFC 7591 registrations (authorization_server/dynamic_registration.ts):
   * their fields now (the statement verified again), or a FederationError that ends them.
   */
  dynamic?: (reg: Registration) => Promise<RegistrationFields>

  /** RFC 7591 registrations whose keys are at their statement's jwks_uri: the keys read again (a kid not yet known). */
  dynamicKeys?: (reg: Registration) => Promise<Registration>

  /**
   * The trust chain of an issuer of software statements to a configured anchor: its
   * federation keys. `fresh` (re-evaluation) reads every superior's current statements, so
   * an issuer removed at its anchor stops being trusted within trust_reevaluation.
   */
  async issuerChain(iss: string, o: { budget?: Budget; fresh?: boolean } = {}): Promise<ResolvedChain> {
    const anchorIds = (await this.anchors()).map((a) => a.entity_id)
    return (o.fresh ? this.fresh : this.resolver).resolve(iss, anchorIds, undefined, { trustMarks: false, ...(o.budget ? { budget: o.budget } : {}) })
  }

  /** The work budget of one request (presented chains checked, then the resolution). */
  budget(): Budget {
    return this.resolver.budget()
  }

  /**
   * For client authentication: the client's active registration, re-evaluated when due, or
   * undefined on first contact. Refuses a revoked one, and one invalidated now.
   */
  async registered(clientId: string): Promise<Registration | undefined> {
    const reg = await this.records.get(clientId)
    if (reg?.status === 'revoked') return this.refuse('client.register', clientId, new InvalidClient(`${clientId}: the registration was revoked by the operator`), { registration_type: reg.registration_type })
    if (reg?.status !== 'active') return undefined
    const current = await this.reevaluateIfDue(reg)
    if (typeof current === 'string') throw new RegistrationRefused('invalid_client', `${clientId}: the registration was invalidated at re-evaluation: ${current}`)
    return current
  }

  /**
   * First contact: a registration resolved now (to the anchor of the verified chain the
   * client presented, if any), not stored until the client has proved possession of its
   * key (commit). A first contact that failed is refused from memory for failure_cache_ttl.
   */
  async firstContact(clientId: string, presented: PresentedChain | undefined, budget: Budget): Promise<RegistrationFields> {
    return (await this.contact(clientId, presented, budget, false)) as RegistrationFields
  }

  /**
   * First contact of a client_id that may also be a metadata document URL (an https URL with
   * a path, metadata documents admitted, no trust chain presented): resolved as an entity id
   * first (spec "Automatic Registration"), and only when it is no federation entity (its own
   * entity configuration cannot be fetched or used) fetched as a metadata document. Refused
   * (audited, remembered for failure_cache_ttl) when it is neither, or when either one is
   * refused on its merits.
   */
  async entityOrDocumentContact(clientId: string, budget: Budget): Promise<{ fields: RegistrationFields; document: boolean }> {
    const entity = await this.contact(clientId, undefined, budget, true)
    if (!(entity instanceof FederationError)) return { fields: entity, document: false }
    const document = await this.documentContact(clientId, budget)
    if (document) return { fields: document, document: true }
    const neither = new InvalidClient(`${entity.message}; nor does it serve a client ID metadata document`, { cause: entity })
    const anchorIds = (await this.anchors()).map((a) => a.entity_id)
    // Remembered without the client_id in front: contact() puts it there when it repeats the refusal.
    if (this.o.failure_cache_ttl > 0) this.failed.set(JSON.stringify([clientId, anchorIds]), { error: neither, until: this.f.clock.now() + this.o.failure_cache_ttl })
    return this.refuse('client.register', clientId, new InvalidClient(`${clientId}: ${neither.message}`, { cause: entity }), { registration_type: 'automatic', cause: entity.error })
  }

  /** A first contact as an entity id; `orNotEntity`: the error, unaudited, when the subject's own entity configuration cannot be had. */
  private async contact(clientId: string, presented: PresentedChain | undefined, budget: Budget, orNotEntity: boolean): Promise<RegistrationFields | ResolveError> {
    const anchorIds = presented ? [presented.anchor] : (await this.anchors()).map((a) => a.entity_id)
    const key = JSON.stringify([clientId, anchorIds])
    try {
      const known = this.failed.get(key)
      if (known && known.until > this.f.clock.now()) throw known.error
      try {
        const resolver = await this.resolverFor(clientId)
        const chain = await resolver.resolve(clientId, anchorIds, RESOLVED_TYPES, { ...this.marks(), budget })
        return await this.fields(chain, 'automatic', undefined, budget)
      } catch (err) {
        // Not an entity (no usable entity configuration of its own): the caller tries it as a metadata document.
        if (orNotEntity && err instanceof ResolveError && err.cause instanceof SubjectError) return err
        if (err instanceof FederationError && err.status < 500 && this.o.failure_cache_ttl > 0) this.failed.set(key, { error: err, until: this.f.clock.now() + this.o.failure_cache_ttl })
        throw err
      }
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      return this.refuse('client.register', clientId, new InvalidClient(`${clientId}: ${err.message}`, { cause: err }), { registration_type: 'automatic', cause: err.error })
    }
  }

  /**
   * First contact of a client whose client_id is a metadata document URL (metadata_document.ts):
   * the document fetched and validated, its vouching entity resolved now, the document bounded
   * by that entity's resolved metadata. Undefined when the URL serves no document (the client_id
   * may then be an entity id). Refusals are audited and remembered for failure_cache_ttl, like
   * first contacts.
   */
  async documentContact(clientId: string, budget: Budget): Promise<RegistrationFields | undefined> {
    const key = JSON.stringify([clientId, 'metadata_document'])
    try {
      const known = this.failed.get(key)
      if (known && known.until > this.f.clock.now()) throw known.error
      try {
        return await this.documentFields(clientId, await this.resolverFor(clientId), budget)
      } catch (err) {
        if (err instanceof FederationError && err.status < 500 && this.o.failure_cache_ttl > 0) this.failed.set(key, { error: err, until: this.f.clock.now() + this.o.failure_cache_ttl })
        throw err
      }
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      const refusal = err.error === 'invalid_client' ? err : new InvalidClient(`${clientId}: ${err.message}`, { cause: err })
      return this.refuse('client.register', clientId, refusal, { registration_type: 'metadata_document', cause: err.error })
    }
  }

  /** The registration of a metadata document client, resolved with `resolver` (to `anchorIds`, default every trusted anchor). */
  private async documentFields(clientId: string, resolver: Resolver, budget: Budget, anchorIds?: string[]): Promise<RegistrationFields | undefined> {
    const documents = this.documents
    if (!documents) return undefined
    const fetched = await documents.get(clientId, budget)
    if (fetched === NOT_A_DOCUMENT) return undefined
    const doc = validateDocument(clientId, fetched.document)
    const anchors = anchorIds ?? (await this.anchors()).map((a) => a.entity_id)
    let chain: ResolvedChain
    try {
      chain = await resolver.resolve(doc.entity_id, anchors, RESOLVED_TYPES, { ...this.marks(), budget })
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) {
        throw new InvalidClient(`client_id metadata document ${clientId}: its entity ${doc.entity_id} has no valid trust chain to a trusted anchor: ${err.message}`, { cause: err })
      }
      throw err
    }
    const metadata = registrableMetadata(chain.metadata)
    const entityType = CLIENT_TYPES.find((t) => metadata[t] !== undefined)
    if (!entityType) throw new InvalidClient(`client_id metadata document ${clientId}: its entity ${doc.entity_id} is no ${CLIENT_TYPES.join(' or ')} of the federation`)
    const md = metadata[entityType]!
    const bounded = boundDocument(doc, md, entityType)
    // registration.required_trust_marks apply to the vouching entity, as to a federation client of its type.
    let trustMarks
    try {
      trustMarks = this.required.admit(chain, entityType)
    } catch (err) {
      if (err instanceof FederationError) throw new InvalidClient(`client_id metadata document ${clientId}: its entity ${doc.entity_id}: ${err.message}`, { cause: err })
      throw err
    }
    let keys: ClientKeys = { jwks: { keys: [] }, jwks_source: 'none' }
    if (doc.token_endpoint_auth_method === 'private_key_jwt') {
      const keyMd = { ...(doc.jwks !== undefined ? { jwks: doc.jwks } : {}), ...(doc.jwks_uri !== undefined ? { jwks_uri: doc.jwks_uri } : {}) }
      try {
        keys = await budget.run(() => clientKeys(clientId, keyMd, chain.subject_jwks, { clock: this.f.clock, skew: this.f.config.clock_skew, fetcher: chargedFetcher(this.f.fetcher, budget) }))
      } catch (e) {
        if (e instanceof BudgetExceeded) throw new InvalidClient(`fetching keys of ${clientId}: ${e.message}`, { cause: e })
        throw e
      }
    }
    return {
      registration_type: 'metadata_document', entity_type: entityType, entity_id: doc.entity_id, trust_anchor: chain.anchor,
      ...(chain.links[1] ? { authority_hint: chain.links[1].iss } : {}),
      chain: [...new Set([chain.subject, ...chain.links.map((l) => l.iss), chain.anchor])],
      // The federation's words about the entity (who it is, what it may do), never the document's.
      metadata: { [entityType]: md, ...(chain.metadata.federation_entity ? { federation_entity: chain.metadata.federation_entity } : {}) },
      document: {
        token_endpoint_auth_method: doc.token_endpoint_auth_method, ...bounded, display: doc.display,
        ...(doc.application_type ? { application_type: doc.application_type } : {}),
      },
      jwks: keys.jwks, jwks_source: keys.jwks_source,
      chain_exp: Math.min(chain.exp, keys.exp ?? Infinity),
      trust_marks: trustMarks,
      document_exp: fetched.fresh_until,
    }
  }

  /** Stores a first-contact registration once the client has authenticated. */
  async commit(clientId: string, candidate: RegistrationFields): Promise<Registration> {
    const revoked = await this.clearEnded(clientId)
    const reg = await this.records.save(clientId, candidate, false)
    if (!reg) return this.refuse('client.register', clientId, new InvalidClient(`${clientId}: the registration was revoked by the operator`), { registration_type: 'automatic' })
    await this.audited('client.register', 'success', reg, revoked)
    return reg
  }

  /** The active registration of `clientId` after re-evaluation when due, or undefined (introspection). */
  async active(clientId: string): Promise<Registration | undefined> {
    const reg = await this.records.get(clientId)
    if (reg?.status !== 'active') return undefined
    const current = await this.reevaluateIfDue(reg)
    return typeof current === 'string' ? undefined : current
  }

  /**
   * Spec "Processing Explicit Client Registration Request by OP", steps 3 to 9: resolve from
   * the request (to the presented chain's anchor when one was given), build the
   * registration from the resolved metadata, replace any previous one.
   */
  async registerExplicit(req: RequestConfiguration, presented: PresentedChain | undefined, budget = this.budget()): Promise<{ registration: Registration; chain: ResolvedChain }> {
    const clientId = req.statement.claims.sub
    try {
      const prior = await this.records.get(clientId)
      if (prior?.status === 'revoked') throw new InvalidClient(`${clientId}: the registration was revoked by the operator`)
      const anchorIds = presented ? [presented.anchor] : (await this.anchors()).map((a) => a.entity_id)
      const resolver = prior?.status === 'invalidated' ? this.fresh : this.resolver
      const chain = await resolver.resolve(clientId, anchorIds, RESOLVED_TYPES, { ...this.marks(), subjectStatement: req.statement, budget })
      const fields = await this.fields(chain, 'explicit', req.statement.jwt, budget)
      const revoked = await this.clearEnded(clientId)
      const registration = await this.records.save(clientId, fields, true)
      if (!registration) throw new InvalidClient(`${clientId}: the registration was revoked by the operator`)
      await this.audited('client.register', 'success', registration, revoked)
      return { registration, chain }
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      return this.refuse('client.register', clientId, err, { registration_type: 'explicit' })
    }
  }

  /** Verifies a trust chain the client presented (no fetch; its verifications are charged to `budget`); it names the anchor to resolve to. */
  async presented(value: unknown, subject: string, options: { subjectStatement?: RequestConfiguration['statement']; budget?: Budget } = {}): Promise<PresentedChain> {
    const anchors = await this.anchors()
    try {
      return await verifyPresentedChain(value, {
        anchors, clock: this.f.clock, skew: this.f.config.clock_skew, expectedSubject: subject,
        ...(options.subjectStatement ? { subject: options.subjectStatement } : {}),
        ...(options.budget ? { budget: options.budget } : {}),
      })
    } catch (err) {
      if (err instanceof BudgetExceeded) throw new InvalidTrustChain(`trust chain: ${err.message}`, { cause: err })
      throw err
    }
  }

  /** Which of the subject's trust marks a resolution verifies: those of the required types, or none. */
  private marks(): { trustMarks: boolean; trustMarkTypes?: ReadonlySet<string> } {
    return this.required.types.size ? { trustMarks: true, trustMarkTypes: this.required.types } : { trustMarks: false }
  }

  /** `budget`: the request's, also charged for fetching the client's keys (jwks_uri, signed_jwks_uri). */
  private async fields(chain: ResolvedChain, type: RegistrationType, request?: string, budget?: Budget): Promise<RegistrationFields> {
    const metadata = registrableMetadata(chain.metadata)
    const entityType = registeredType(metadata)
    if (!entityType) throw new FederationError('invalid_metadata', `${chain.subject} has no ${REGISTRABLE_TYPES.join(', ')} metadata`)
    const md = metadata[entityType]!
    const problem = metadataProblem(md, entityType)
    if (problem) throw new FederationError(problem[0], problem[1])
    if (type === 'explicit' && CLIENT_TYPES.includes(entityType) && !grantTypes(md).some((g) => g !== 'refresh_token' && this.grantTypes.includes(g))) {
      throw new FederationError('invalid_client_metadata', `${entityType}.grant_types: this authorization server serves ${this.grantTypes.filter((g) => g !== 'refresh_token').join(', ')}`)
    }
    // Before the keys are fetched: a client without the required marks costs nothing more.
    const trustMarks = this.required.admit(chain, entityType)
    let keys
    try {
      const d = { clock: this.f.clock, skew: this.f.config.clock_skew }
      keys = budget
        ? await budget.run(() => clientKeys(chain.subject, md, chain.subject_jwks, { ...d, fetcher: chargedFetcher(this.f.fetcher, budget) }))
        : await clientKeys(chain.subject, md, chain.subject_jwks, { ...d, fetcher: this.f.fetcher })
    } catch (e) {
      const err = e instanceof BudgetExceeded ? new InvalidClient(`fetching keys of ${chain.subject}: ${e.message}`, { cause: e }) : e
      if (type === 'explicit' && err instanceof FederationError && err.error === 'invalid_client') throw new FederationError('invalid_client_metadata', err.message, { cause: err })
      throw err
    }
    return {
      registration_type: type, entity_type: entityType, trust_anchor: chain.anchor,
      ...(chain.links[1] ? { authority_hint: chain.links[1].iss } : {}),
      chain: [...new Set([chain.subject, ...chain.links.map((l) => l.iss), chain.anchor])],
      // The federation_entity metadata too: its organization_name and logo_uri tell the user who the client is (consent page).
      metadata: chain.metadata.federation_entity ? { ...metadata, federation_entity: chain.metadata.federation_entity } : metadata,
      jwks: keys.jwks, jwks_source: keys.jwks_source,
      chain_exp: Math.min(chain.exp, keys.exp ?? Infinity),
      // Always written, so a re-evaluation replaces the marks of the previous one.
      trust_marks: trustMarks,
      ...(request ? { request } : {}),
    }
  }

  /**
   * A client coming back after its registration was invalidated starts with nothing of the old
   * one: the cut-off runs again (idempotent), completing one that failed or raced with a token
   * request of the old registration.
   */
  private async clearEnded(clientId: string): Promise<Record<string, number> | undefined> {
    if (!this.cutOff || (await this.records.get(clientId))?.status !== 'invalidated') return undefined
    const revoked = await this.cutOff(clientId)
    // Said in the registration's audit event only when something was left.
    return Object.values(revoked).some((n) => n > 0) ? revoked : undefined
  }

  /** The registration, or why it was invalidated. One re-evaluation per registration at a time. */
  private reevaluateIfDue(reg: Registration): Promise<Registration | string> {
    const now = this.f.clock.now()
    // A metadata document client is also due when its document's HTTP caching lifetime is over.
    // And any registration when what it rests on says so (due_at: a status answer's age, a key set's freshness).
    if (now < reg.evaluated_at + this.reevaluation && now < reg.chain_exp && !(reg.document_exp !== undefined && now >= reg.document_exp)
      && !(reg.due_at !== undefined && now >= reg.due_at)) return Promise.resolve(reg)
    const key = `${reg.id} ${reg.rid}`
    let p = this.reevaluations.get(key)
    if (!p) {
      p = this.reevaluate(reg).finally(() => this.reevaluations.delete(key))
      this.reevaluations.set(key, p)
    }
    return p
  }

  private async reevaluate(reg: Registration): Promise<Registration | string> {
    try {
      if (reg.registration_type === 'dynamic') {
        if (!this.dynamic) throw new InvalidClient('dynamic client registration is no longer enabled')
        const refreshed = await this.records.refresh(reg, await this.dynamic(reg))
        if (!refreshed) return 'the registration changed while it was re-evaluated'
        await this.audited('client.reevaluate', 'success', refreshed)
        return refreshed
      }
      if (reg.registration_type === 'metadata_document') {
        // The document read again (unless still fresh) and its entity resolved afresh, to the same anchor.
        const fields = await this.documentFields(reg.id, this.fresh, this.budget(), [reg.trust_anchor])
        if (!fields) {
          throw new InvalidClient(this.documents
            ? `${reg.id} no longer serves a client_id metadata document`
            : 'this server no longer admits clients identified by a metadata document (authorization_server.client_id_metadata_documents)')
        }
        const refreshed = await this.records.refresh(reg, fields)
        if (!refreshed) return 'the registration changed while it was re-evaluated'
        await this.audited('client.reevaluate', 'success', refreshed)
        return refreshed
      }
      let chain: ResolvedChain
      if (reg.request) {
        const req = await parseRequestConfiguration(reg.request, { audience: this.f.entityId, clock: this.f.clock, skew: this.f.config.clock_skew })
        chain = await this.fresh.resolve(reg.id, [reg.trust_anchor], RESOLVED_TYPES, { ...this.marks(), subjectStatement: req.statement })
      } else {
        chain = await this.fresh.resolve(reg.id, [reg.trust_anchor], RESOLVED_TYPES, this.marks())
      }
      const refreshed = await this.records.refresh(reg, await this.fields(chain, reg.registration_type, reg.request))
      if (!refreshed) return 'the registration changed while it was re-evaluated'
      await this.audited('client.reevaluate', 'success', refreshed)
      return refreshed
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      // The kill-switch: the registration ends, then everything the client holds is revoked
      // (idempotent: another instance cutting the same client off concurrently removes nothing
      // twice). One audit event says why and what went.
      const ended = await this.records.invalidate(reg, err.message)
      const detail: Record<string, unknown> = {
        trust_anchor: reg.trust_anchor, ...(reg.entity_id !== reg.id ? { entity_id: reg.entity_id } : {}), error: err.error, reason: err.message,
      }
      let failed: Error | undefined
      if (ended && this.cutOff) {
        try {
          detail.revoked = await this.cutOff(reg.id)
        } catch (e) {
          failed = e instanceof Error ? e : new Error(String(e))
          detail.revoked = 'failed'
        }
      }
      await this.f.audit.record('authorization_server', 'client.reevaluate', 'failure', reg.id, detail)
      if (failed) throw failed
      return err.message
    }
  }

  private async audited(action: string, outcome: 'success', reg: Registration, revoked?: Record<string, number>): Promise<void> {
    if (action === 'client.register') this.f.metrics.registration(reg.registration_type, 'success')
    await this.f.audit.record('authorization_server', action, outcome, reg.id, {
      registration_type: reg.registration_type, entity_type: reg.entity_type, trust_anchor: reg.trust_anchor,
      ...(reg.entity_id !== reg.id ? { entity_id: reg.entity_id } : {}),
      ...(reg.authority_hint ? { authority_hint: reg.authority_hint } : {}), exp: reg.chain_exp,
      // What the previous, invalidated registration had left (a cut-off completed now).
      ...(revoked ? { revoked } : {}),
    })
  }

  private async refuse(action: string, clientId: string, err: FederationError, detail: Record<string, unknown>): Promise<never> {
    if (action === 'client.register') this.f.metrics.registration(typeof detail.registration_type === 'string' ? detail.registration_type : 'unknown', 'refused')
    await this.f.audit.record('authorization_server', action, 'failure', clientId, { ...detail, error: err.error, reason: err.message })
    throw new RegistrationRefused(err.error, err.message, { cause: err })
  }
}
