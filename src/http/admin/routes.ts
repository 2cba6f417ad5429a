/** The admin API: onboarding, audit, keys. Every route authenticated; bodies validated by JSON Schema. */
import type Router from '@koa/router'
import type { Federation } from '../../federation.js'
import { bodyLimits, readJson, readOptionalJson } from '../body.js'
import { single } from '../params.js'
import { InvalidRequest } from '../../errors.js'
import type { KeyAlg } from '../../crypto/keys.js'
import { validator, describeAjvError } from '../../config/schemas.js'
import type { Context } from 'koa'
import type { Keystore, RevocationReason } from '../../crypto/keystore.js'
import { actorOf, queryOf, respond, respondPage } from './respond.js'
import { memberQuery } from './members.js'
import { auditRoutes } from './audit.js'
import { dependentsOf, memberDetail } from './member_detail.js'
import { subordinateKeyRoutes } from './subordinate_keys.js'
import { anchorRoutes } from './anchors.js'
import { createAnchorPins } from '../../trust_chain/anchor_pins.js'
import { SoftwareStatements } from '../../software_statements/service.js'
import { softwareStatementAdminRoutes } from './software_statements.js'

/** `?purpose=` of the keys routes: the federation keys (the default) or the authorization server's. */
export const KEY_PURPOSES = ['federation', 'oauth'] as const

/** Keystores beside the federation's, reached with `?purpose=` on the keys routes. */
export interface AdminKeystores {
  /** The authorization server's `oauth` keys (token and ID token signing), when the role is on. */
  oauth?: Keystore
}

export function adminRoutes(router: Router, f: Federation, keystores: AdminKeystores = {}): void {
  const max = bodyLimits(f.config)
  const actor = actorOf
  const q = queryOf
  const json = respond

  router.post('admin_subordinates_add', '/subordinates', async (ctx) => {
    json(ctx, 201, await f.subordinates.add(await readJson(ctx, max), actor(ctx)))
  })
  // Onboarding's dry run: the member's entity configuration fetched, verified and checked; nothing written.
  router.post('/subordinates/preview', async (ctx) => {
    json(ctx, 200, await f.subordinates.preview(await readJson(ctx, max)))
  })
  // Before GET /subordinates/:id: `pending` is a route, not a member id.
  subordinateKeyRoutes(router, f.subordinates, max)
  router.get('admin_subordinates_list', '/subordinates', async (ctx) => {
    const query = memberQuery(q(ctx))
    respondPage(ctx, await f.subordinates.page(query), query.limit, (m) => m.entity_id)
  })
  router.get('admin_subordinate', '/subordinates/:id', async (ctx) => {
    json(ctx, 200, await f.subordinates.get(ctx.params.id!))
  })
  // The console's member page and its suspend/remove confirmation (member_detail.ts).
  router.get('/subordinates/:id/detail', async (ctx) => {
    json(ctx, 200, await memberDetail(f, ctx.params.id!))
  })
  router.get('/subordinates/:id/dependents', async (ctx) => {
    json(ctx, 200, await dependentsOf(f, ctx.params.id!))
  })
  router.patch('/subordinates/:id', async (ctx) => {
    json(ctx, 200, await f.subordinates.update(ctx.params.id!, await readJson(ctx, max), actor(ctx)))
  })
  router.delete('/subordinates/:id', async (ctx) => {
    await f.subordinates.remove(ctx.params.id!, actor(ctx))
    ctx.status = 204
  })
  router.post('/subordinates/:id/suspend', async (ctx) => {
    json(ctx, 200, await f.subordinates.setStatus(ctx.params.id!, 'suspended', actor(ctx)))
  })
  router.post('/subordinates/:id/reinstate', async (ctx) => {
    json(ctx, 200, await f.subordinates.setStatus(ctx.params.id!, 'active', actor(ctx)))
  })

  // The audit log: pages with filters, and its export (audit.ts).
  auditRoutes(router, f.audit, f.clock)

  // Pinned trust anchors and their refresh (trust_chain/anchor_pins.ts).
  anchorRoutes(router, createAnchorPins(f), max)

  // Software statements for partners registering by RFC 7591 (docs/software-statements.md).
  softwareStatementAdminRoutes(router, new SoftwareStatements(f), max)

  // `?purpose=oauth`: the authorization server's keys (one signing key per algorithm, keystore.ts
  // `algs`), kept apart from the federation keys; without it, the federation keys.
  const keystoreOf = (ctx: Context): Keystore => {
    const purpose = single(q(ctx), 'purpose') ?? 'federation'
    if (purpose === 'federation') return f.keystore
    if (purpose !== 'oauth') throw new InvalidRequest('purpose: must be federation or oauth')
    if (!keystores.oauth) throw new InvalidRequest('purpose: this deployment has no oauth keys (authorization_server is not enabled)')
    return keystores.oauth
  }
  router.get('/keys', async (ctx) => {
    json(ctx, 200, { keys: await keystoreOf(ctx).list() })
  })
  // Key rollover (README "Key rollover"): each step is audited with its write (keystore.ts).
  // Without alg, a keystore of several algorithms stages (rotates) a key of each: {keys: [...]}.
  router.post('/keys/stage', async (ctx) => {
    const ks = keystoreOf(ctx)
    const body = await optionalBody<{ alg?: KeyAlg }>(ctx, 'key_stage')
    if (!body.alg && ks.algs) json(ctx, 201, { keys: await ks.stageAll({ actor: actor(ctx) }) })
    else json(ctx, 201, await ks.stage(body.alg, { actor: actor(ctx) }))
  })
  router.post('/keys/:kid/activate', async (ctx) => {
    const ks = keystoreOf(ctx)
    const body = await optionalBody<{ force?: boolean }>(ctx, 'key_activate')
    json(ctx, 200, await ks.activate(ctx.params.kid!, { actor: actor(ctx), ...(body.force ? { force: true } : {}) }))
  })
  router.post('/keys/rotate', async (ctx) => {
    const ks = keystoreOf(ctx)
    const body = await optionalBody<{ alg?: KeyAlg; compromised?: boolean }>(ctx, 'key_rotate')
    const o = { actor: actor(ctx), ...(body.compromised ? { compromised: true } : {}) }
    if (!body.alg && ks.algs) json(ctx, 201, { keys: await ks.rotateAll(o) })
    else json(ctx, 201, await ks.rotate(body.alg, o))
  })
  router.post('/keys/:kid/retire', async (ctx) => {
    const ks = keystoreOf(ctx)
    const body = await optionalBody<{ reason?: RevocationReason }>(ctx, 'key_retire')
    json(ctx, 200, await ks.retire(ctx.params.kid!, body.reason, { actor: actor(ctx) }))
  })

  /** An optional JSON body (none = {}, whatever the framing), validated against schemas/NAME.schema.json. */
  async function optionalBody<T>(ctx: Context, schema: string): Promise<T> {
    const body = await readOptionalJson(ctx, max)
    const v = validator(schema)
    if (!v(body)) throw new InvalidRequest(describeAjvError(v.errors))
    return body as T
  }
}
