/**
 * The trust marks capability: issuer, trust anchor / owner and member roles, as routes,
 * admin routes, entity configuration claims and a maintenance timer (started and stopped
 * with the service). One set of services per federation, so several entities can share a
 * process.
 */
import type { Capabilities } from '../capabilities.js'
import type { Federation } from '../federation.js'
import { trustMarkAdminRoutes } from './admin.js'
import { trustMarkRoutes } from './http.js'
import { localTrustMarks, type LocalTrustMarks } from './local_status.js'
import { createTrustMarkServices, type TrustMarkServices } from './services.js'

export interface TrustMarksCapability extends Partial<Capabilities> {
  /** The federation's own issued-mark records, for the verifier (marks it revoked are never accepted). */
  local(f: Federation): LocalTrustMarks
}

export function trustMarksCapability(): TrustMarksCapability {
  const services = new WeakMap<Federation, TrustMarkServices>()
  const of = (f: Federation): TrustMarkServices => {
    let s = services.get(f)
    if (!s) services.set(f, (s = createTrustMarkServices(f)))
    return s
  }
  return {
    http: [{
      routes: (router, f) => trustMarkRoutes(router, f, of(f)),
      admin: (router, f) => trustMarkAdminRoutes(router, f, of(f)),
    }],
    start: (f) => of(f).start(),
    stop: async (f) => services.get(f)?.stop(),
    local: (f) => localTrustMarks(f.entityId, of(f).issuer, f.clock),
  }
}
