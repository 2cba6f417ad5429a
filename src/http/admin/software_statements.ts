/**
 * The software statements admin API (authenticated; paths relative to {entity}/admin):
 * issue, revoke, list (docs/software-statements.md). Bodies are validated by
 * schemas/software_statement*.schema.json.
 */
import type Router from '@koa/router'
import { readJson, type BodyLimits } from '../body.js'
import { single, int } from '../params.js'
import { InvalidRequest } from '../../errors.js'
import type { SoftwareStatements } from '../../software_statements/service.js'
import type { StatementStatus } from '../../software_statements/records.js'
import { actorOf, queryOf, respond } from './respond.js'

const STATUSES: readonly StatementStatus[] = ['active', 'expired', 'revoked']

export function softwareStatementAdminRoutes(router: Router, s: SoftwareStatements, max: BodyLimits): void {
  router.post('/software-statements', async (ctx) => {
    respond(ctx, 201, await s.issue(await readJson(ctx, max), actorOf(ctx)))
  })
  router.post('/software-statements/revoke', async (ctx) => {
    respond(ctx, 200, await s.revoke(await readJson(ctx, max), actorOf(ctx)))
  })
  router.get('/software-statements', async (ctx) => {
    const params = queryOf(ctx)
    const limit = int(params, 'limit', 1, 1000) ?? 100
    const status = single(params, 'status')
    if (status !== undefined && !STATUSES.includes(status as StatementStatus)) throw new InvalidRequest(`status: must be one of ${STATUSES.join(', ')}`)
    const after = single(params, 'after')
    const softwareId = single(params, 'software_id')
    const items = await s.page({ limit, ...(after ? { after } : {}), ...(softwareId ? { software_id: softwareId } : {}), ...(status ? { status: status as StatementStatus } : {}) })
    const last = items.at(-1)
    respond(ctx, 200, { items, ...(items.length === limit && last ? { next: last.jti } : {}) })
  })
}
