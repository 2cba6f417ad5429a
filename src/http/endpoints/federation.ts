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
import { readForm, type BodyLimits } from '../body.js'
import { FederationError } from '../../errors.js'
import type { SoftwareStatements } from '../../software_statements/service.js'

export function federationRoutes(router: Router, c: FederationCapability, publisher: Publisher, statements: SoftwareStatements, max: BodyLimits): void {
  const path = (name: string) => c.routes![name]!
  // Like spec "Trust Mark Status Request": a POST with the statement in a form body.
  router.post('federation_software_statement_status_endpoint', path('federation_software_statement_status_endpoint'), async (ctx) => {
    const form = await readForm(ctx, max)
    const token = await statements.statusResponse(single(form, 'software_statement', true))
    ctx.set('Cache-Control', 'no-store')
    jwt(ctx, MEDIA.softwareStatementStatusResponse, token)
  })
  router.get(path('federation_software_statement_status_endpoint'), (ctx) => {
    ctx.set('Allow', 'POST')
    throw new FederationError('method_not_allowed', 'the software statement status endpoint takes POST with the statement in a form body (software_statement)')
  })
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
