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
import { InvalidRequest } from '../errors.js'
import { ChainError } from './errors.js'
import { parseStatement, verifyStatement } from './entity_statement.js'
import type { Statement } from './types.js'

export interface RequestConfiguration {
  statement: Statement
  /** The `trust_chain` / `peer_trust_chain` JWS header parameters, unverified (spec "Explicit Client Registration Request", step 8). */
  trust_chain?: unknown
  peer_trust_chain?: unknown
}

/**
 * Spec "Processing Explicit Client Registration Request by OP", step 2: the request is an
 * entity configuration (every Entity Statement rule applies: typ, alg, kid, iss == sub,
 * iat/exp, jwks, crit, self-signature) whose `aud` is exactly `audience`
 * (entity_statement.ts, profile `registration_request`). Throws InvalidRequest naming the rule.
 */
export async function parseRequestConfiguration(jwt: string, o: { audience: string; clock: Clock; skew: number; understoodCrit?: ReadonlySet<string> }): Promise<RequestConfiguration> {
  let statement: Statement | undefined
  try {
    statement = parseStatement(jwt, 'registration_request', undefined, undefined, { audience: o.audience, understoodCrit: o.understoodCrit })
    await verifyStatement(statement, statement.claims.jwks, 'its own jwks', o)
  } catch (err) {
    if (!(err instanceof ChainError)) throw err
    const message = err.rule === 'malformed' ? 'not a compact JWS'
      : err.rule === 'kid' ? `no key with kid ${JSON.stringify(statement?.header.kid ?? null)} in its own jwks`
      : err.message
    throw new InvalidRequest(`registration request: ${message}`, { cause: err })
  }
  const { trust_chain, peer_trust_chain } = statement.header
  return {
    statement,
    ...(trust_chain !== undefined ? { trust_chain } : {}),
    ...(peer_trust_chain !== undefined ? { peer_trust_chain } : {}),
  }
}
