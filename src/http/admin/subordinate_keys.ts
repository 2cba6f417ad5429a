/**
 * Admin routes of the subordinate key refresh (docs/admin-api.md, "Subordinate key refresh"):
 * refresh one member or all, list the key changes waiting for the operator, approve or
 * reject one. Registered before `GET /subordinates/:id`, so `pending` is not taken for an id
 * (member ids are entity ids, always URLs, so they never collide).
 */
import type Router from '@koa/router'
import type { SubordinateRegistry } from '../../subordinates/registry.js'
import { InvalidRequest } from '../../errors.js'
import { validator, describeAjvError } from '../../config/schemas.js'
import { readJson, type BodyLimits } from '../body.js'
import { actorOf, respond } from './respond.js'

export function subordinateKeyRoutes(router: Router, registry: SubordinateRegistry, max: BodyLimits): void {
  router.post('/subordinates/refresh', async (ctx) => {
    const body = await readJson(ctx, max)
    const v = validator('subordinate_refresh')
    if (!v(body)) throw new InvalidRequest(describeAjvError(v.errors))
    const b = body as { entity_id?: string; all?: true }
    if (b.all) respond(ctx, 200, { items: await registry.keys.refreshAll(actorOf(ctx)) })
    else respond(ctx, 200, await registry.keys.refresh(b.entity_id!, actorOf(ctx)))
  })
  router.get('/subordinates/pending', async (ctx) => {
    respond(ctx, 200, { items: await registry.keys.pending() })
  })
  router.post('/subordinates/:id/approve', async (ctx) => {
    respond(ctx, 200, await registry.keys.approve(ctx.params.id!, actorOf(ctx)))
  })
  router.post('/subordinates/:id/reject', async (ctx) => {
    respond(ctx, 200, await registry.keys.reject(ctx.params.id!, actorOf(ctx)))
  })
}
