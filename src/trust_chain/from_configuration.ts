/**
 * Resolution that starts from an entity configuration we were handed rather than one we
 * fetch: spec "Processing Explicit Client Registration Request by OP", step 3: "the OP MUST
 * use the provided Entity Configuration to complete the Federation Entity Discovery by
 * collecting and evaluating the Trust Chains that start with the authority_hints in the
 * Entity Configuration of the RP". An RP registering explicitly may publish no entity
 * configuration at all, and the one it sends is tailored for us (it carries `aud`, which
 * no published entity statement may), so the Resolver's fetch-first path cannot be used.
 *
 * Everything above the subject is collected and validated exactly as the Resolver does
 * (collect, validatePath, resolvedMetadata); only the subject's statement is given.
 */
import type { Clock } from '../clock.js'
import { TYP, SIGNING_ALGS } from '../constants.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { checkCrit, isJwks, StatementError } from '../entity/statement.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import { InvalidRequest, InvalidTrustAnchor } from '../errors.js'
import { createPolicyEngine, type PolicyEngine } from '../metadata_policy/index.js'
import type { EntityStatement } from '../types.js'
import { ChainError, SubjectError, noChainError, subjectError } from './errors.js'
import { StatementSource } from './source.js'
import type { ResolverOptions } from './resolver.js'
import { Statements } from './statements.js'
import { collect, byPreference } from './collect.js'
import { validatePath, trustChainOf, expiryOf, linksOf, ssOf } from './validate.js'
import { resolvedMetadata } from './metadata.js'
import type { PathFailure, ResolvedChain, Statement } from './types.js'

/** Claims that only subordinate statements, or only registration responses, may carry. */
const NOT_IN_REQUEST = ['metadata_policy', 'metadata_policy_crit', 'constraints', 'source_endpoint', 'trust_anchor'] as const

export interface RequestConfiguration {
  statement: Statement
  /** The `trust_chain` / `peer_trust_chain` JWS header parameters, unverified (spec "Explicit Client Registration Request", step 8). */
  trust_chain?: unknown
  peer_trust_chain?: unknown
}

/**
 * Spec "Processing Explicit Client Registration Request by OP", step 2: the request is an
 * entity configuration (every Entity Statement rule applies: typ, alg, kid, iss == sub,
 * iat/exp, jwks, crit, self-signature) whose `aud` is exactly `audience`. Throws
 * InvalidRequest naming the rule.
 */
export async function parseRequestConfiguration(jwt: string, o: { audience: string; clock: Clock; skew: number; understoodCrit?: ReadonlySet<string> }): Promise<RequestConfiguration> {
  const fail = (message: string, cause?: unknown): never => {
    throw new InvalidRequest(`registration request: ${message}`, cause === undefined ? {} : { cause })
  }
  let decoded
  try {
    decoded = decodeUnverified(jwt)
  } catch (err) {
    return fail('not a compact JWS', err)
  }
  const { header } = decoded
  const c = decoded.payload as Record<string, unknown>
  if (header.typ !== TYP.entityStatement) fail(`typ must be "${TYP.entityStatement}"`)
  if (typeof header.alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(header.alg)) fail(`alg ${JSON.stringify(header.alg ?? null)} is not an accepted asymmetric algorithm`)
  if (typeof c.iss !== 'string' || !isEntityIdSyntax(c.iss) || c.sub !== c.iss) fail('iss and sub must be the same entity identifier')
  const aud = Array.isArray(c.aud) && c.aud.length === 1 ? c.aud[0] : c.aud
  if (aud !== o.audience) fail(`aud must be ${o.audience} and nothing else, got ${JSON.stringify(c.aud ?? null)}`)
  if (!isJwks(c.jwks)) fail('jwks is missing or not a valid public JWK Set')
  const hints = c.authority_hints
  if (!(Array.isArray(hints) && hints.length > 0 && hints.every((h) => typeof h === 'string' && isEntityIdSyntax(h)))) fail('authority_hints must be a non-empty array of entity identifiers')
  if (typeof c.metadata !== 'object' || c.metadata === null || Array.isArray(c.metadata)) fail('metadata is required')
  for (const claim of NOT_IN_REQUEST) if (c[claim] !== undefined) fail(`the claim ${claim} is not allowed in a registration request`)
  try {
    checkCrit(c, o.understoodCrit, 'registration request')
    await verifyJwt(jwt, c.jwks as EntityStatement['jwks'], { typ: TYP.entityStatement, clock: o.clock, skew: o.skew })
  } catch (err) {
    if (err instanceof JwtError || err instanceof StatementError) fail(err.message, err)
    throw err
  }
  const iss = c.iss as string
  const statement: Statement = {
    jwt, kind: 'entity_configuration', label: `registration request of ${iss}`, verifiedWith: new Set(),
    header: { alg: header.alg as string, kid: header.kid as string, typ: header.typ as string },
    claims: c as EntityStatement,
  }
  return {
    statement,
    ...(header.trust_chain !== undefined ? { trust_chain: header.trust_chain } : {}),
    ...(header.peer_trust_chain !== undefined ? { peer_trust_chain: header.peer_trust_chain } : {}),
  }
}

/** The resolver's own options, less what registration does not use (trust marks, extra operators). */
export type ConfigurationResolverOptions = Pick<ResolverOptions, 'fetcher' | 'clock' | 'logger' | 'skew' | 'limits' | 'anchors' | 'local'>

/** Statements for one resolution: the given subject statement, everything else from the shared Statements. */
class WithSubject extends Statements {
  constructor(source: StatementSource, clock: Clock, skew: number, private readonly base: Statements, private readonly subject: Statement) {
    super({ source, clock, skew, cacheEntries: 1 })
  }
  override entityConfiguration(entityId: string): Promise<Statement> {
    return entityId === this.subject.claims.sub ? Promise.resolve(this.subject) : this.base.entityConfiguration(entityId)
  }
  override subordinateStatement(superior: Statement, sub: string): Promise<Statement> {
    return this.base.subordinateStatement(superior, sub)
  }
}

export class ConfigurationResolver {
  private readonly source: StatementSource
  private readonly statements: Statements
  private readonly engine: PolicyEngine

  constructor(private readonly o: ConfigurationResolverOptions) {
    this.source = new StatementSource({ fetcher: o.fetcher, clock: o.clock, limits: o.limits, local: o.local })
    this.statements = new Statements({ source: this.source, clock: o.clock, skew: o.skew, cacheEntries: o.limits.cache_entries })
    this.engine = createPolicyEngine()
  }

  /**
   * Resolves the chain from `subject` (already verified by the caller) to one of
   * `anchorIds`, as Resolver.resolve does. Throws ResolveError or InvalidTrustAnchor.
   */
  async resolve(subject: Statement, anchorIds: readonly string[], entityTypes?: readonly string[]): Promise<ResolvedChain> {
    const trusted = (await this.o.anchors()).filter((a) => anchorIds.includes(a.entity_id))
    if (!trusted.length) throw new InvalidTrustAnchor(`${anchorIds.join(', ')}: not a trust anchor this deployment is configured to trust`)
    const byId = new Map(trusted.map((a) => [a.entity_id, a]))
    const id = subject.claims.sub
    let collected
    try {
      collected = await collect(new WithSubject(this.source, this.o.clock, this.o.skew, this.statements, subject), this.o.limits, id, new Set(byId.keys()))
    } catch (err) {
      if (err instanceof SubjectError) throw subjectError(id, err)
      throw err
    }
    const failures: PathFailure[] = collected.failures
    for (const nodes of collected.candidates.sort(byPreference(trusted.map((a) => a.entity_id)))) {
      const anchor = byId.get(nodes.at(-1)!.id)!
      try {
        await validatePath(nodes, anchor, { clock: this.o.clock, skew: this.o.skew, keySets: this.statements.keySets })
        const metadata = resolvedMetadata(this.engine, nodes, entityTypes)
        return {
          subject: id, anchor: anchor.entity_id, trust_chain: trustChainOf(nodes).map((s) => s.jwt), links: linksOf(nodes),
          metadata, trust_marks: [], exp: expiryOf(nodes), subject_jwks: nodes.length > 1 ? ssOf(nodes, 1).claims.jwks : anchor.jwks,
        }
      } catch (err) {
        if (!(err instanceof ChainError)) throw err
        failures.push({ path: nodes.map((n) => n.id), statement: err.statement, rule: err.rule, message: err.message, stage: err.stage })
      }
    }
    throw noChainError(id, trusted.map((a) => a.entity_id), failures)
  }
}
