/**
 * The role each admin route requires: ONE table, data only (docs/admin-api.md, "Operators and
 * roles"). Roles are ordered (auditor < operator < admin; operators.ts): a route needs its
 * role or a higher one.
 *
 *   auditor   reads everything, the audit log included (every GET; POST /resolve reads too)
 *   operator  onboards, suspends and reinstates members and approves their keys, issues and
 *             revokes trust marks and software statements, revokes and reinstates clients
 *   admin     also keys and anchor pins, settings (trust mark types, issuers, owners,
 *             delegations, this entity's own marks) and operators
 *
 * `applyRoles` runs once the admin router has every route: a route missing here stops the
 * start (a new route cannot ship without a role), and each route gets its check in front of
 * its handler. Keys are the method and the path below `{entity path}/admin`, as routed.
 */
import type Router from '@koa/router'
import type { Context, Next } from 'koa'
import { InsufficientScope } from '../../errors.js'
import type { RefusedAuthentications } from '../../audit/refusals.js'
import { operatorOf } from './auth.js'
import { roleAtLeast, type Role } from './operators.js'

export const REQUIRED_ROLE: ReadonlyMap<string, Role> = new Map<string, Role>([
  // The trust registry (routes.ts, subordinate_keys.ts).
  ['GET /subordinates', 'auditor'],
  ['GET /subordinates/:id', 'auditor'],
  ['GET /subordinates/:id/detail', 'auditor'],
  ['GET /subordinates/:id/dependents', 'auditor'],
  ['GET /subordinates/pending', 'auditor'],
  ['POST /subordinates', 'operator'],
  ['POST /subordinates/preview', 'operator'],
  ['PATCH /subordinates/:id', 'operator'],
  ['DELETE /subordinates/:id', 'operator'],
  ['POST /subordinates/:id/suspend', 'operator'],
  ['POST /subordinates/:id/reinstate', 'operator'],
  ['POST /subordinates/refresh', 'operator'],
  ['POST /subordinates/:id/approve', 'operator'],
  ['POST /subordinates/:id/reject', 'operator'],
  // The audit log.
  ['GET /audit', 'auditor'],
  ['GET /audit/export', 'auditor'],
  ['GET /metrics', 'auditor'],
  // The admin API's OpenAPI contract (openapi.ts): a read.
  ['GET /openapi.json', 'auditor'],
  // Federation keys and pinned anchors.
  ['GET /keys', 'auditor'],
  ['POST /keys/stage', 'admin'],
  ['POST /keys/:kid/activate', 'admin'],
  ['POST /keys/rotate', 'admin'],
  ['POST /keys/:kid/retire', 'admin'],
  ['GET /anchors', 'auditor'],
  ['POST /anchors/refresh', 'admin'],
  // Software statements.
  ['GET /software-statements', 'auditor'],
  ['POST /software-statements', 'operator'],
  ['POST /software-statements/revoke', 'operator'],
  // Trust marks (trust_marks.ts): marks are the operator's, types and the anchor's settings the admin's.
  ['GET /trust-mark-types', 'auditor'],
  ['POST /trust-mark-types', 'admin'],
  ['DELETE /trust-mark-types', 'admin'],
  ['GET /trust-marks', 'auditor'],
  ['POST /trust-marks', 'operator'],
  ['POST /trust-marks/revoke', 'operator'],
  ['GET /trust-mark-issuers', 'auditor'],
  ['PUT /trust-mark-issuers', 'admin'],
  ['DELETE /trust-mark-issuers', 'admin'],
  ['GET /trust-mark-owners', 'auditor'],
  ['PUT /trust-mark-owners', 'admin'],
  ['DELETE /trust-mark-owners', 'admin'],
  ['POST /trust-mark-delegations', 'admin'],
  ['GET /own-trust-marks', 'auditor'],
  ['POST /own-trust-marks', 'admin'],
  ['DELETE /own-trust-marks', 'admin'],
  ['POST /own-trust-marks/refresh', 'operator'],
  // The resolver's discovery for operators (endpoints/resolve.ts): a read.
  ['POST /resolve', 'auditor'],
  ['POST /resolve/explain', 'auditor'],
  // Registered clients (clients.ts).
  ['GET /clients', 'auditor'],
  ['GET /clients/:id', 'auditor'],
  ['POST /clients/:id/revoke', 'operator'],
  ['POST /clients/:id/reinstate', 'operator'],
  // RFC 7591 initial access tokens (clients.ts): issued after vetting, like software statements.
  ['GET /initial-access-tokens', 'auditor'],
  ['POST /initial-access-tokens', 'operator'],
  ['POST /initial-access-tokens/revoke', 'operator'],
  // The operator console's session (console/routes.ts): who is asking, and logout. Any operator.
  ['GET /session', 'auditor'],
  ['DELETE /session', 'auditor'],
  // Operators (operators_routes.ts).
  ['GET /operators', 'admin'],
  ['GET /operators/:name', 'admin'],
  ['POST /operators', 'admin'],
  ['POST /operators/:name/disable', 'admin'],
  ['POST /operators/:name/enable', 'admin'],
  ['POST /operators/:name/rotate', 'admin'],
])

export interface AdminRoute {
  method: string
  /** Below `{entity path}/admin`, with its parameters (`/subordinates/:id`). */
  path: string
  role: Role
}

/**
 * Puts each route's role check in front of its handler; returns the routes with their roles.
 * Throws when a route has no role in REQUIRED_ROLE.
 */
export function applyRoles(admin: Router, prefix: string, refusals: RefusedAuthentications): AdminRoute[] {
  const routes: AdminRoute[] = []
  for (const layer of admin.stack) {
    if (layer.methods.length === 0) continue // middleware (authentication)
    const path = String(layer.path).slice(prefix.length)
    const roles = new Set<Role>()
    for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
      const role = REQUIRED_ROLE.get(`${method} ${path}`)
      if (!role) throw new Error(`admin route ${method} ${path} has no required role in src/http/admin/roles.ts`)
      routes.push({ method, path, role })
      roles.add(role)
    }
    // One check per route: a route serving several methods (none today) needs one role for all.
    if (roles.size !== 1) throw new Error(`admin route ${path}: its methods need different roles; register them one by one`)
    layer.stack.unshift(requireRole([...roles][0]!, path, refusals))
  }
  return routes
}

function requireRole(required: Role, route: string, refusals: RefusedAuthentications) {
  return async function role(ctx: Context, next: Next): Promise<void> {
    const op = operatorOf(ctx)
    if (!roleAtLeast(op.role, required)) {
      ctx.state.authRefused = true
      await refusals.refuse({ address: ctx.ip, method: ctx.method, path: ctx.path, reason: `role ${op.role}, ${required} required`, operator: op.name })
      ctx.set('WWW-Authenticate', `Bearer error="insufficient_scope", error_description="the ${required} role is required"`)
      throw new InsufficientScope(`${ctx.method} ${route} requires the ${required} role; operator ${op.name} has the ${op.role} role`)
    }
    await next()
  }
}
