/**
 * The trust marks admin API (authenticated; paths relative to {entity}/admin): types,
 * issuance, revocation, trust anchor settings, delegations, and this entity's own marks.
 * Bodies are validated by schemas/trust_mark*.schema.json.
 */
import type Router from '@koa/router'
import { readJson, type BodyLimits } from '../body.js'
import { single } from '../params.js'
import type { AnchorSetting } from '../../trust_marks/anchor.js'
import type { TrustMarkServices } from '../../trust_marks/services.js'
import { actorOf, queryOf, respond } from './respond.js'

export function trustMarkAdminRoutes(router: Router, s: TrustMarkServices, max: BodyLimits): void {
  const actor = actorOf
  const q = queryOf
  const json = respond

  // Issuer: types.
  router.post('/trust-mark-types', async (ctx) => {
    const { record, created } = await s.issuer.addType(await readJson(ctx, max), actor(ctx))
    json(ctx, created ? 201 : 200, record)
  })
  router.get('/trust-mark-types', async (ctx) => {
    json(ctx, 200, { items: await s.issuer.listTypes() })
  })
  router.delete('/trust-mark-types', async (ctx) => {
    await s.issuer.removeType(single(q(ctx), 'trust_mark_type', true), actor(ctx))
    ctx.status = 204
  })

  // Issuer: marks.
  router.post('/trust-marks', async (ctx) => {
    json(ctx, 201, await s.issuer.issue(await readJson(ctx, max), actor(ctx)))
  })
  router.post('/trust-marks/revoke', async (ctx) => {
    json(ctx, 200, await s.issuer.revoke(await readJson(ctx, max), actor(ctx)))
  })
  router.get('/trust-marks', async (ctx) => {
    const params = q(ctx)
    const type = single(params, 'trust_mark_type')
    const sub = single(params, 'sub')
    json(ctx, 200, { items: await s.issuer.list({ ...(type ? { trust_mark_type: type } : {}), ...(sub ? { sub } : {}) }) })
  })

  // Trust anchor: trust_mark_issuers / trust_mark_owners.
  const settings: Array<[string, AnchorSetting]> = [['/trust-mark-issuers', 'trust_mark_issuers'], ['/trust-mark-owners', 'trust_mark_owners']]
  for (const [path, name] of settings) {
    router.get(path, async (ctx) => {
      const value = name === 'trust_mark_issuers' ? await s.anchor.issuers() : await s.anchor.owners()
      json(ctx, 200, value ?? {})
    })
    router.put(path, async (ctx) => {
      json(ctx, 200, await s.anchor.set(name, await readJson(ctx, max), actor(ctx)))
    })
    router.delete(path, async (ctx) => {
      await s.anchor.clear(name, actor(ctx))
      ctx.status = 204
    })
  }

  // Owner: delegations.
  router.post('/trust-mark-delegations', async (ctx) => {
    json(ctx, 201, await s.anchor.delegate(await readJson(ctx, max), actor(ctx)))
  })

  // Member: this entity's own marks.
  router.post('/own-trust-marks', async (ctx) => {
    json(ctx, 201, await s.own.add(await readJson(ctx, max), actor(ctx)))
  })
  router.get('/own-trust-marks', async (ctx) => {
    json(ctx, 200, { items: await s.own.list() })
  })
  router.delete('/own-trust-marks', async (ctx) => {
    const params = q(ctx)
    await s.own.remove(single(params, 'trust_mark_type', true), single(params, 'issuer', true), actor(ctx))
    ctx.status = 204
  })
  router.post('/own-trust-marks/refresh', async (ctx) => {
    json(ctx, 200, await s.own.refreshDue(actor(ctx)))
  })
}
