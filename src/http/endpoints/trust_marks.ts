/**
 * The trust mark issuer's public endpoints (the trust marks capability's HTTP adapter),
 * mounted at the paths the capability declares under the metadata parameter names it
 * publishes (spec "Federation Entity").
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import { MEDIA } from '../../constants.js'
import { FederationError } from '../../errors.js'
import { readForm, type BodyLimits } from '../body.js'
import { single } from '../params.js'
import type { TrustMarksCapability } from '../../capabilities/types.js'

export function trustMarkRoutes(router: Router, c: TrustMarksCapability, max: BodyLimits): void {
  const s = c.services
  const path = (name: string) => c.routes![name]!
  // Spec "Trust Mark Endpoint": the current mark, or 404 when the entity does not have it.
  router.get('federation_trust_mark_endpoint', path('federation_trust_mark_endpoint'), async (ctx) => {
    const q = query(ctx)
    const type = single(q, 'trust_mark_type', true)
    const sub = single(q, 'sub', true)
    const token = await s.issuer.current(type, sub)
    ctx.set('Cache-Control', 'no-store')
    ctx.type = MEDIA.trustMark
    ctx.body = token
  })

  // Spec "Trust Mark Status Request": the request MUST be a POST.
  router.post('federation_trust_mark_status_endpoint', path('federation_trust_mark_status_endpoint'), async (ctx) => {
    const form = await readForm(ctx, max)
    const token = await s.status.respond(single(form, 'trust_mark', true))
    ctx.set('Cache-Control', 'no-store')
    ctx.type = MEDIA.trustMarkStatusResponse
    ctx.body = token
  })
  // A GET (the -40 draft's form) gets 405 with Allow and a description that says why.
  router.get(path('federation_trust_mark_status_endpoint'), (ctx) => {
    ctx.set('Allow', 'POST')
    throw new FederationError('method_not_allowed', 'the trust mark status endpoint takes POST with the trust mark in a form body')
  })

  // Spec "Trust Marked Entities Listing".
  router.get('federation_trust_mark_list_endpoint', path('federation_trust_mark_list_endpoint'), async (ctx) => {
    const q = query(ctx)
    const ids = await s.issuer.holders(single(q, 'trust_mark_type', true), single(q, 'sub'))
    ctx.set('Cache-Control', 'no-store')
    ctx.type = MEDIA.json
    ctx.body = JSON.stringify(ids)
  })
}

function query(ctx: Context): URLSearchParams {
  return new URLSearchParams(ctx.querystring)
}
