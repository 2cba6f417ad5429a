/**
 * Resolution that starts from an entity configuration we were handed rather than one we
 * fetch: spec "Processing Explicit Client Registration Request by OP", step 3: "the OP MUST
 * use the provided Entity Configuration to complete the Federation Entity Discovery by
 * collecting and evaluating the Trust Chains that start with the authority_hints in the
 * Entity Configuration of the RP". An RP registering explicitly may publish no entity
 * configuration at all, and the one it sends is tailored for us (it carries `aud`, which
 * no published entity statement may), so the Resolver's fetch-first path cannot be used.
 *
 * This file parses and checks that request statement; the Resolver then collects and
 * validates everything above it as usual (ResolveOptions.subjectStatement).
 */
import type { Clock } from '../clock.js'
import { TYP, SIGNING_ALGS } from '../constants.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { checkCrit, isJwks, StatementError } from '../entity/statement.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import { InvalidRequest } from '../errors.js'
import type { EntityStatement } from '../types.js'
import type { Statement } from './types.js'

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
    return fail(err instanceof JwtError && err.reason === 'depth' ? err.message : 'not a compact JWS', err)
  }
  const { header } = decoded
  const c = decoded.payload as Record<string, unknown>
  if (header.typ !== TYP.entityStatement) fail(`typ must be "${TYP.entityStatement}"`)
  if (typeof header.alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(header.alg)) fail(`alg ${JSON.stringify(header.alg ?? null)} is not an accepted asymmetric algorithm`)
  if (typeof c.iss !== 'string' || !isEntityIdSyntax(c.iss) || c.sub !== c.iss) fail('iss and sub must be the same entity identifier')
  const aud: unknown = Array.isArray(c.aud) && c.aud.length === 1 ? c.aud[0] : c.aud
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
    header: { alg: header.alg, kid: header.kid as string, typ: header.typ as string },
    claims: c as EntityStatement,
  }
  return {
    statement,
    ...(header.trust_chain !== undefined ? { trust_chain: header.trust_chain } : {}),
    ...(header.peer_trust_chain !== undefined ? { peer_trust_chain: header.peer_trust_chain } : {}),
  }
}
