/**
 * The operators admin API (paths relative to {entity}/admin; the admin role only, roles.ts):
 * list, show, add (the token is in the answer, once), disable, enable (a new token), rotate.
 */
import type Router from '@koa/router'
import { InvalidRequest } from '../../errors.js'
import { validator, describeAjvError } from '../../config/schemas.js'
import { readJson, type BodyLimits } from '../body.js'
import { actorOf, respond } from './respond.js'
import type { Operators, Role } from './operators.js'

export function operatorRoutes(router: Router, operators: Operators, max: BodyLimits): void {
  router.get('/operators', async (ctx) => {
    respond(ctx, 200, { items: await operators.list() })
  })
  router.get('/operators/:name', async (ctx) => {
    respond(ctx, 200, await operators.get(ctx.params.name!))
  })
  router.post('/operators', async (ctx) => {
    const body = await readJson(ctx, max)
    const v = validator('operator')
    if (!v(body)) throw new InvalidRequest(describeAjvError(v.errors))
    const { name, role } = body as { name: string; role: Role }
    respond(ctx, 201, await operators.add(name, role, actorOf(ctx)))
  })
  router.post('/operators/:name/disable', async (ctx) => {
    respond(ctx, 200, await operators.disable(ctx.params.name!, actorOf(ctx)))
  })
  router.post('/operators/:name/enable', async (ctx) => {
    respond(ctx, 200, await operators.enable(ctx.params.name!, actorOf(ctx)))
  })
  router.post('/operators/:name/rotate', async (ctx) => {
    respond(ctx, 200, await operators.rotate(ctx.params.name!, actorOf(ctx)))
  })
}
