/**
 * Spec "Resolve Entity": GET /resolve?sub=&trust_anchor=&entity_type=. The route's name
 * is the metadata parameter, so the entity configuration advertises it. Parameters the
 * spec does not define are ignored; `sub` must be given once; `trust_anchor` and
 * `entity_type` may repeat. Cached answers are usually served by the listener's fast
 * path before koa is reached; this handler gives the same answer, or the error.
 */
import type Router from '@koa/router'
import { MEDIA } from '../../constants.js'
import { InvalidRequest } from '../../errors.js'
import { isEntityIdSyntax } from '../../config/schemas.js'
import type { ResolveService } from '../../trust_chain/service.js'
import { single, multi } from '../params.js'
import { query, jwt } from './federation.js'

export function resolveRoutes(router: Router, service: ResolveService): void {
  router.get('federation_resolve_endpoint', '/resolve', async (ctx) => {
    const q = query(ctx)
    const sub = single(q, 'sub', true)
    if (!isEntityIdSyntax(sub)) throw new InvalidRequest('sub: must be an entity identifier (an https URL without query or fragment)')
    const anchors = multi(q, 'trust_anchor')
    if (!anchors) throw new InvalidRequest('trust_anchor: is required')
    jwt(ctx, MEDIA.resolveResponse, await service.answer(sub, anchors, multi(q, 'entity_type')))
  })
}
