/**
 * The clients admin API (authenticated; paths relative to {entity}/admin): list, show,
 * revoke (the operator's kill-switch: the client's tokens introspect inactive at once, its
 * grants, refresh tokens and codes are removed, and it cannot register again until
 * reinstated), reinstate.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import type { AuditLog } from '../../audit/audit.js'
import { InvalidRequest, NotFound } from '../../errors.js'
import { validator, describeAjvError } from '../../config/schemas.js'
import { own } from '../../util/json.js'
import { readOptionalJson, type BodyLimits } from '../body.js'
import type { Registration, RegistrationStatus } from '../../registration/records.js'
import type { AuthorizationServer } from '../../authorization_server/service.js'
import { actorOf, queryOf, respond, pageRequest, respondPage } from './respond.js'

/** The `status` filter of GET /clients. */
export const CLIENT_STATUSES: readonly RegistrationStatus[] = ['active', 'invalidated', 'revoked']

/** What `clients list` shows of a registration (the full record is at /clients/{id}). */
export function summary(r: Registration): Record<string, unknown> {
  return {
    client_id: r.client_id, status: r.status, registration_type: r.registration_type, entity_type: r.entity_type,
    // A metadata document client: the federation entity vouching for it.
    ...(r.entity_id !== r.client_id ? { entity_id: r.entity_id } : {}),
    trust_anchor: r.trust_anchor, ...(r.authority_hint ? { authority_hint: r.authority_hint } : {}),
    registered_at: r.registered_at, evaluated_at: r.evaluated_at, chain_exp: r.chain_exp,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.dynamic ? { software_id: r.dynamic.software_id, statement_iss: r.dynamic.statement_iss, statement_jti: r.dynamic.statement_jti } : {}),
  }
}

/** The full record, without the hashes of a dynamic client's credentials (they identify nothing useful to an operator). */
export function shown(r: Registration): Record<string, unknown> {
  if (!r.dynamic) return r
  const dynamic: Record<string, unknown> = { ...r.dynamic, client_secret: r.dynamic.client_secret_hash !== undefined }
  delete dynamic.client_secret_hash
  delete dynamic.registration_access_token_hash
  return { ...r, dynamic }
}

export function authorizationServerAdminRoutes(router: Router, s: AuthorizationServer, audit: AuditLog, max: BodyLimits): void {
  const actor = actorOf
  const json = (ctx: Context, body: unknown) => respond(ctx, 200, body)

  router.get('/clients', async (ctx) => {
    const page = pageRequest(queryOf(ctx), CLIENT_STATUSES)
    respondPage(ctx, await s.registrar.records.page(page), page.limit, (r) => r.id, summary)
  })

  router.get('/clients/:id', async (ctx) => {
    const reg = await s.registrar.records.get(ctx.params.id!)
    if (!reg) throw new NotFound(`${ctx.params.id!} has no registration`)
    json(ctx, shown(reg))
  })

  router.post('/clients/:id/revoke', async (ctx) => {
    const body = await readOptionalJson(ctx, max)
    const v = validator('client_revoke')
    if (!v(body)) throw new InvalidRequest(describeAjvError(v.errors))
    const reg = await s.registrar.records.revoke(ctx.params.id!, actor(ctx), own(body, 'reason') as string | undefined)
    // The operator's kill-switch takes the client's grants, refresh tokens and codes too.
    const revoked = await s.cutOff(reg.id)
    await audit.record(actor(ctx), 'client.revoke', 'success', reg.id, { trust_anchor: reg.trust_anchor, reason: reg.reason, revoked })
    json(ctx, summary(reg))
  })

  // Initial access tokens (RFC 7591 section 3): issued after vetting, single use or counted.
  router.post('/initial-access-tokens', async (ctx) => {
    respond(ctx, 201, await s.initialAccessTokens.issue(await readOptionalJson(ctx, max), actor(ctx)))
  })
  router.get('/initial-access-tokens', async (ctx) => {
    json(ctx, { items: await s.initialAccessTokens.list() })
  })
  router.post('/initial-access-tokens/revoke', async (ctx) => {
    await s.initialAccessTokens.revoke(await readOptionalJson(ctx, max), actor(ctx))
    ctx.status = 204
  })

  router.post('/clients/:id/reinstate', async (ctx) => {
    await s.registrar.records.reinstate(ctx.params.id!)
    await audit.record(actor(ctx), 'client.reinstate', 'success', ctx.params.id)
    ctx.status = 204
  })
}
