/**
 * Spec "Explicit Registration": the request (an entity configuration, or a trust chain
 * starting with one), its processing, and the signed Explicit Registration response.
 * Errors are the spec's "Error Responses" codes plus RFC 7591's invalid_client_metadata
 * and invalid_redirect_uri (spec "Explicit Client Registration Error Response").
 */
import type { RegistrationDeps } from './deps.js'
import { MEDIA, TYP } from '../constants.js'
import { signJwt } from '../crypto/jwt.js'
import { InvalidRequest } from '../errors.js'
import { JsonError, parseJson } from '../util/json.js'
import { parseRequestConfiguration, type RequestConfiguration } from '../trust_chain/from_configuration.js'
import type { PresentedChain } from '../trust_chain/presented_chain.js'
import type { Budget } from '../trust_chain/budget.js'
import type { Metadata } from '../types.js'
import type { Registrar } from './registrar.js'
import { AUTH_METHOD, CLIENT_TYPES } from './client_metadata.js'
import type { Registration } from './records.js'

export interface ExplicitDeps {
  f: RegistrationDeps
  registrar: Registrar
}

/**
 * Spec "Processing Explicit Client Registration Request by OP": returns the signed
 * explicit-registration-response+jwt, or throws a FederationError.
 */
export async function registerExplicitly(body: string, mediaType: string, d: ExplicitDeps): Promise<string> {
  // One work budget for the request: the chains it carries, then the resolution (trust_chain/budget.ts).
  const budget = d.registrar.budget()
  const { req, presented } = await readRequest(body, mediaType, d, budget)
  const { registration } = await d.registrar.registerExplicit(req, presented, budget)
  return response(registration, req, d.f)
}

/** Step 1 (content type), step 2 (the request JWT, with aud), steps 4 to 6 (chains the client supplied). */
async function readRequest(body: string, mediaType: string, d: ExplicitDeps, budget: Budget): Promise<{ req: RequestConfiguration; presented?: PresentedChain }> {
  const parse = (jwt: string) => parseRequestConfiguration(jwt.trim(), { audience: d.f.entityId, clock: d.f.clock, skew: d.f.config.clock_skew })
  if (mediaType === MEDIA.entityStatement) {
    const req = await parse(body)
    const subject = req.statement.claims.sub
    const presented = req.trust_chain === undefined ? undefined : await d.registrar.presented(req.trust_chain, subject, { budget })
    if (req.peer_trust_chain !== undefined) {
      // Step 6: the peer chain starts at this OP and ends at the anchor the RP chose.
      const peer = await d.registrar.presented(req.peer_trust_chain, d.f.entityId, { budget })
      if (presented && peer.anchor !== presented.anchor) {
        throw new InvalidRequest(`peer_trust_chain ends at ${peer.anchor}, trust_chain at ${presented.anchor}: they must end at the same trust anchor`)
      }
    }
    return { req, ...(presented ? { presented } : {}) }
  }
  if (mediaType === MEDIA.trustChain) {
    let chain: unknown
    const maxDepth = d.f.config.limits.json_depth
    try {
      chain = parseJson(body, { maxDepth })
    } catch (err) {
      if (err instanceof JsonError && err.reason === 'depth') throw new InvalidRequest(`the request body nests deeper than ${maxDepth} levels (limits.json_depth)`)
      throw new InvalidRequest('the request body is not a JSON array of statements')
    }
    if (!Array.isArray(chain) || chain.length === 0 || typeof chain[0] !== 'string') {
      throw new InvalidRequest('the request body must be a JSON array starting with the registration request entity configuration')
    }
    const req = await parse(chain[0])
    if (req.peer_trust_chain !== undefined) throw new InvalidRequest('peer_trust_chain must not be used when the request body is a trust chain')
    const presented = chain.length > 1 ? await d.registrar.presented(chain, req.statement.claims.sub, { subjectStatement: req.statement, budget }) : undefined
    return { req, ...(presented ? { presented } : {}) }
  }
  throw new InvalidRequest(`Content-Type must be ${MEDIA.entityStatement} or ${MEDIA.trustChain}`)
}

/** Spec "Successful Explicit Client Registration Response". */
async function response(reg: Registration, req: RequestConfiguration, f: RegistrationDeps): Promise<string> {
  const metadata: Metadata = {}
  for (const [type, md] of Object.entries(reg.metadata)) {
    // The registration as created, with client_id and the defaults the RP would otherwise have to assume.
    metadata[type] = CLIENT_TYPES.includes(type) ? { ...md, client_id: reg.client_id, token_endpoint_auth_method: AUTH_METHOD } : md
  }
  const claims = {
    iss: f.entityId,
    sub: reg.client_id,
    aud: reg.client_id,
    iat: f.clock.now(),
    exp: reg.chain_exp,
    trust_anchor: reg.trust_anchor,
    ...(reg.authority_hint ? { authority_hints: [reg.authority_hint] } : {}),
    metadata,
    // A verbatim copy of the request's jwks claim (not the metadata parameter).
    jwks: req.statement.claims.jwks,
  }
  return signJwt(claims, await f.keystore.signingKey(), TYP.explicitRegistrationResponse)
}
