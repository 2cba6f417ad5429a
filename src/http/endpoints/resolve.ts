/**
 * Spec "Resolve Entity": GET /resolve?sub=&trust_anchor=&entity_type=. The route's name
 * is the metadata parameter, so the entity configuration advertises it. Parameters the
 * spec does not define are ignored; `sub` must be given once; `trust_anchor` and
 * `entity_type` may repeat. Cached answers are usually served by the listener's fast
 * path before koa is reached; this handler gives the same answer, or the error.
 *
 * Requests here are unauthenticated: a miss is a discovery bounded per client address and
 * in number, or is answered from cached statements only (`resolver.unauthenticated`). The
 * operator's POST {admin}/resolve (same parameters) discovers outside those bounds, e.g.
 * to warm the caches a "cached" resolver answers from.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import { MEDIA } from '../../constants.js'
import { InvalidRequest } from '../../errors.js'
import { isEntityIdSyntax } from '../../config/schemas.js'
import type { Caller, ResolveService } from '../../trust_chain/service.js'
import type { ResolverCapability } from '../../capabilities/types.js'
import { DiscoveryRefused } from '../../trust_chain/discovery.js'
import { single, multi } from '../params.js'
import { query, jwt } from './federation.js'

export function resolveRoutes(router: Router, c: ResolverCapability, trustProxy: boolean): void {
  router.get('federation_resolve_endpoint', c.routes!.federation_resolve_endpoint!, async (ctx) => {
    await answer(ctx, c.service, { address: clientAddress(ctx, trustProxy) })
  })
}

export function resolveAdminRoutes(router: Router, service: ResolveService): void {
  router.post('admin_resolve', '/resolve', async (ctx) => {
    await answer(ctx, service, { authenticated: true })
  })
}

async function answer(ctx: Context, service: ResolveService, caller: Caller): Promise<void> {
  const q = query(ctx)
  const sub = single(q, 'sub', true)
  if (!isEntityIdSyntax(sub)) throw new InvalidRequest('sub: must be an entity identifier (an https URL without query or fragment)')
  const anchors = multi(q, 'trust_anchor')
  if (!anchors) throw new InvalidRequest('trust_anchor: is required')
  try {
    jwt(ctx, MEDIA.resolveResponse, await service.answer(sub, anchors, multi(q, 'entity_type'), caller))
  } catch (err) {
    // RFC 9110 section 10.2.3: when to try again.
    if (err instanceof DiscoveryRefused) ctx.set('Retry-After', String(err.retryAfter))
    throw err
  }
}

/**
 * The address a discovery is counted against. Behind a trusted proxy (--trust-proxy) it is
 * the last X-Forwarded-For entry, the one that proxy appended: earlier entries are
 * whatever the client chose to send.
 */
export function clientAddress(ctx: Context, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = ctx.ips.at(-1)
    if (forwarded) return forwarded
  }
  return ctx.socket.remoteAddress
}
