/**
 * The federation endpoints of spec "Federation Endpoints" served from signed caches:
 * entity configuration, fetch, list, historical keys. Route names are the metadata
 * parameter names, so the entity configuration's endpoint URLs come from the router.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import { MEDIA } from '../../constants.js'
import type { Publisher } from '../../entity/publisher.js'
import type { FederationCapability } from '../../capabilities/types.js'
import { single, multi, bool } from '../params.js'

export function federationRoutes(router: Router, c: FederationCapability, publisher: Publisher): void {
  const path = (name: string) => c.routes![name]!
  router.get('entity_configuration', path('entity_configuration'), async (ctx) => {
    jwt(ctx, MEDIA.entityStatement, await publisher.entityConfiguration())
  })
  router.get('federation_fetch_endpoint', path('federation_fetch_endpoint'), async (ctx) => {
    const sub = single(query(ctx), 'sub', true)
    jwt(ctx, MEDIA.entityStatement, await publisher.subordinateStatement(sub))
  })
  router.get('federation_list_endpoint', path('federation_list_endpoint'), async (ctx) => {
    const q = query(ctx)
    const filters = {
      ...(multi(q, 'entity_type') ? { entity_type: multi(q, 'entity_type')! } : {}),
      ...(bool(q, 'intermediate') !== undefined ? { intermediate: bool(q, 'intermediate')! } : {}),
      ...(bool(q, 'trust_marked') !== undefined ? { trust_marked: bool(q, 'trust_marked')! } : {}),
      ...(single(q, 'trust_mark_type') !== undefined ? { trust_mark_type: single(q, 'trust_mark_type')! } : {}),
    }
    ctx.type = MEDIA.json
    ctx.body = await publisher.list(filters)
  })
  router.get('federation_historical_keys_endpoint', path('federation_historical_keys_endpoint'), async (ctx) => {
    jwt(ctx, MEDIA.jwkSet, await publisher.historicalKeys())
  })
}

export function query(ctx: Context): URLSearchParams {
  return new URLSearchParams(ctx.querystring)
}

export function jwt(ctx: Context, mediaType: string, token: string): void {
  ctx.type = mediaType
  ctx.body = token
}
