/**
 * The federation endpoints of spec "Federation Endpoints" served from signed caches:
 * entity configuration, fetch, list, historical keys. Route names are the metadata
 * parameter names, so the entity configuration's endpoint URLs come from the router.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import { MEDIA, WELL_KNOWN_FEDERATION } from '../../constants.js'
import type { Federation } from '../../federation.js'
import { single, multi, bool } from '../params.js'

export function federationRoutes(router: Router, f: Federation): void {
  router.get('entity_configuration', WELL_KNOWN_FEDERATION, async (ctx) => {
    jwt(ctx, MEDIA.entityStatement, await f.publisher.entityConfiguration())
  })
  router.get('federation_fetch_endpoint', '/fetch', async (ctx) => {
    const sub = single(query(ctx), 'sub', true)
    jwt(ctx, MEDIA.entityStatement, await f.publisher.subordinateStatement(sub))
  })
  router.get('federation_list_endpoint', '/list', async (ctx) => {
    const q = query(ctx)
    const filters = {
      ...(multi(q, 'entity_type') ? { entity_type: multi(q, 'entity_type')! } : {}),
      ...(bool(q, 'intermediate') !== undefined ? { intermediate: bool(q, 'intermediate')! } : {}),
      ...(bool(q, 'trust_marked') !== undefined ? { trust_marked: bool(q, 'trust_marked')! } : {}),
      ...(single(q, 'trust_mark_type') !== undefined ? { trust_mark_type: single(q, 'trust_mark_type')! } : {}),
    }
    ctx.type = MEDIA.json
    ctx.body = await f.publisher.list(filters)
  })
  router.get('federation_historical_keys_endpoint', '/historical-keys', async (ctx) => {
    jwt(ctx, MEDIA.jwkSet, await f.publisher.historicalKeys())
  })
}

export function query(ctx: Context): URLSearchParams {
  return new URLSearchParams(ctx.querystring)
}

export function jwt(ctx: Context, mediaType: string, token: string): void {
  ctx.type = mediaType
  ctx.body = token
}
