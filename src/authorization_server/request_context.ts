/**
 * What one request to the authorization server carries from Anchorage's checks in front of
 * oidc-provider to its client lookup (FederationClients.find), which oidc-provider calls
 * without the request: the unverified trust_chain the client presented (spec "Trust Chain
 * Header Parameter" in a client assertion or a request object; the `trust_chain` parameter
 * of an authorization or PAR request), the request's work budget (trust_chain/budget.ts),
 * the client assertion to check before a first-contact registration is stored, and the
 * registrations found, for the grant handlers and token claims of the same request.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Budget } from '../trust_chain/budget.js'
import type { Registration } from '../registration/records.js'
import type { Assertion } from './client_auth.js'

export interface RequestContext {
  /** The token request's grant_type, when the request is one (unauthorized_client is said at lookup). */
  grantType?: string
  /** A trust chain presented by the client, unverified, and whose client it is about. */
  trustChain?: { clientId: string; value: unknown; where: string }
  /** The client assertion of the request, inspected (no key yet): a first contact is stored only once it verifies. */
  assertion?: Assertion
  /** The request object (JAR) of an authorization or PAR request, unverified: a first contact is stored only once it verifies. */
  requestObject?: { jwt: string; clientId: string; typ?: string }
  /** A first contact must prove possession of a client key (an assertion or a request object); without one it is refused. */
  requireProof?: boolean
  budget?: Budget
  /** Registrations found during this request, by client id. */
  readonly registrations: Map<string, Registration>
  /**
   * Lookups refused during this request, by client id: oidc-provider looks the client up
   * again to render an authorization error, and that must neither redo the work nor audit
   * the refusal twice.
   */
  refusals?: Map<string, Error>
}

const storage = new AsyncLocalStorage<RequestContext>()

export function newRequestContext(init: Omit<RequestContext, 'registrations'> = {}): RequestContext {
  return { ...init, registrations: new Map() }
}

/** Runs `fn` with `context` as the current request's. */
export function withRequestContext<T>(context: RequestContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn)
}

/** The current request's context, if any (lookups outside a request, e.g. admin, have none). */
export function requestContext(): RequestContext | undefined {
  return storage.getStore()
}
