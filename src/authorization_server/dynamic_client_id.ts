/**
 * Client ids this server gives clients registered through RFC 7591 (dynamic_registration.ts):
 * never an entity identifier (no scheme), never a Basic authentication separator (`:`).
 */
export const DYNAMIC_CLIENT_ID = /^dcr_[A-Za-z0-9_-]{22}$/

export function isDynamicClientId(id: unknown): boolean {
  return typeof id === 'string' && DYNAMIC_CLIENT_ID.test(id)
}
