/**
 * The software statements admin API (authenticated; paths relative to {entity}/admin):
 * issue, revoke, list (docs/software-statements.md). Bodies are validated by
 * schemas/software_statement*.schema.json.
 */
import type Router from '@koa/router'
import { readJson, type BodyLimits } from '../body.js'
import { single } from '../params.js'
import type { SoftwareStatements } from '../../software_statements/service.js'
import type { StatementStatus } from '../../software_statements/records.js'
import { actorOf, queryOf, respond, pageRequest, respondPage } from './respond.js'

/** The `status` filter of GET /software-statements. */
export const STATEMENT_STATUSES: readonly StatementStatus[] = ['active', 'expired', 'revoked']

export function softwareStatementAdminRoutes(router: Router, s: SoftwareStatements, max: BodyLimits): void {
  router.post('/software-statements', async (ctx) => {
    respond(ctx, 201, await s.issue(await readJson(ctx, max), actorOf(ctx)))
  })
  router.post('/software-statements/revoke', async (ctx) => {
    respond(ctx, 200, await s.revoke(await readJson(ctx, max), actorOf(ctx)))
  })
  router.get('/software-statements', async (ctx) => {
    const params = queryOf(ctx)
    const page = pageRequest(params, STATEMENT_STATUSES)
    const softwareId = single(params, 'software_id')
    respondPage(ctx, await s.page({ ...page, ...(softwareId ? { software_id: softwareId } : {}) }), page.limit, (st) => st.jti)
  })
}
