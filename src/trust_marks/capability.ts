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
import { createTrustMarkServices, type TrustMarkServices } from './services.js'

export function trustMarksCapability(): Partial<Capabilities> {
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
  }
}
