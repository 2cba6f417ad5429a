/**
 * Spec "Resolve Entity": GET /resolve?sub=&trust_anchor=&entity_type=. The route's name
 * is the metadata parameter, so the entity configuration advertises it. Parameters the
 * spec does not define are ignored; `sub` must be given once; `trust_anchor` and
 * `entity_type` may repeat. Cached answers are usually served by the listener's fast
 * path before koa is reached; this handler gives the same answer, or the error.
 *
 * Requests here are unauthenticated: a miss is a discovery bounded per client address and
 * in number, or is answered from cached statements only (`resolver.unauthenticated`). The
 * operator's POST {admin}/resolve (same parameters) discovers outside those bounds, e.g.
 * to warm the caches a "cached" resolver answers from.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import { MEDIA } from '../../constants.js'
import { InvalidRequest, TooManyRequests } from '../../errors.js'
import { isEntityIdSyntax } from '../../config/schemas.js'
import type { Caller, ResolveService } from '../../trust_chain/service.js'
import type { ResolverCapability } from '../../capabilities/types.js'
import { DiscoveryRefused } from '../../trust_chain/discovery.js'
import { single, multi } from '../params.js'
import { query, jwt } from './federation.js'
import { respond } from '../admin/respond.js'
import { Slots } from '../../util/slots.js'
import { decodeUnverified } from '../../crypto/jwt.js'

export function resolveRoutes(router: Router, c: ResolverCapability, trustProxy: boolean): void {
  router.get('federation_resolve_endpoint', c.routes!.federation_resolve_endpoint!, async (ctx) => {
    await answer(ctx, c.service, { address: clientAddress(ctx, trustProxy) })
  })
}

/**
 * The operators' resolver: discovery outside the unauthenticated bounds, so bounded here in
 * number (`resolver.admin_concurrency` at once on an instance, both routes together; beyond,
 * 429): each one is already bounded in outbound requests by its budget, and an auditor's
 * credentials must not buy unbounded outbound work.
 */
export function resolveAdminRoutes(router: Router, service: ResolveService, concurrency: number): void {
  const slots = new Slots(concurrency)
  const bounded = (run: () => Promise<void>): Promise<void> => {
    const running = slots.tryRun(run)
    if (!running) throw new TooManyRequests(`${concurrency} operator resolutions are running already (resolver.admin_concurrency): try again when one has finished`)
    return running
  }
  router.post('admin_resolve', '/resolve', async (ctx) => {
    await bounded(() => answer(ctx, service, { authenticated: true }))
  })
  // The console's resolve page (docs/admin-api.md, "Resolve explain"): the path, the policy step by step, the trust marks kept and dropped, or every path tried.
  router.post('/resolve/explain', async (ctx) => {
    const { sub, anchors, types } = resolveQuery(ctx)
    await bounded(async () => respond(ctx, 200, explained(await service.explain(sub, anchors, types))))
  })
}

function resolveQuery(ctx: Context): { sub: string; anchors: string[]; types: string[] | undefined } {
  const q = query(ctx)
  const sub = single(q, 'sub', true)
  if (!isEntityIdSyntax(sub)) throw new InvalidRequest('sub: must be an entity identifier (an https URL without query or fragment)')
  const anchors = multi(q, 'trust_anchor')
  if (!anchors) throw new InvalidRequest('trust_anchor: is required')
  return { sub, anchors, types: multi(q, 'entity_type') }
}

/** The explanation as JSON: what a person reads on the resolve page. */
function explained(r: Awaited<ReturnType<ResolveService['explain']>>): Record<string, unknown> {
  if (!r.ok) {
    return {
      ok: false, error: r.error.error, error_description: r.error.message,
      // `detail` is for logs only (addresses a name resolved to).
      paths: r.paths.map((p) => ({ path: p.path, statement: p.statement, rule: p.rule, message: p.message, stage: p.stage })),
    }
  }
  const c = r.chain
  const kept = c.trust_marks.map((m) => ({ trust_mark_type: m.trust_mark_type, ...markClaims(m.trust_mark) }))
  const refused = c.trust_mark_refusals ?? []
  const keptJwts = new Set(c.trust_marks.map((m) => m.trust_mark))
  const refusedTypes = new Set(refused.map((m) => m.trust_mark_type))
  // Carried by the subject, neither kept nor refused: this resolver verifies no trust marks.
  const unverified = carriedMarks(c.trust_chain[0]).filter((m) => !keptJwts.has(m.trust_mark) && !refusedTypes.has(m.trust_mark_type))
  return {
    ok: true, subject: c.subject, trust_anchor: c.anchor, exp: c.exp,
    path: c.links.map((l) => ({ kind: l.kind, iss: l.iss, sub: l.sub, kid: l.kid, exp: l.exp })),
    trust_chain: c.trust_chain,
    metadata: c.metadata,
    policy: c.explanation?.toJSON() ?? null,
    policy_text: c.explanation?.toText() ?? '',
    trust_marks: {
      kept,
      dropped: [
        ...refused.map((m) => ({ trust_mark_type: m.trust_mark_type, reason: m.reason })),
        ...unverified.map((m) => ({ trust_mark_type: m.trust_mark_type, reason: 'not verified: this resolver verifies no trust marks' })),
      ],
    },
  }
}

function markClaims(jwt: string): Record<string, unknown> {
  try {
    const { payload } = decodeUnverified(jwt)
    return { ...(typeof payload.iss === 'string' ? { iss: payload.iss } : {}), ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}), ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}) }
  } catch {
    return {}
  }
}

/** The trust marks the subject's entity configuration (verified by the resolver) carries. */
function carriedMarks(ec: string | undefined): Array<{ trust_mark_type: string; trust_mark: string }> {
  try {
    const marks = decodeUnverified(ec ?? '').payload.trust_marks
    if (!Array.isArray(marks)) return []
    return (marks as unknown[]).filter((m): m is { trust_mark_type: string; trust_mark: string } =>
      typeof m === 'object' && m !== null && typeof (m as Record<string, unknown>).trust_mark_type === 'string' && typeof (m as Record<string, unknown>).trust_mark === 'string')
  } catch {
    return []
  }
}

async function answer(ctx: Context, service: ResolveService, caller: Caller): Promise<void> {
  const { sub, anchors, types } = resolveQuery(ctx)
  try {
    jwt(ctx, MEDIA.resolveResponse, await service.answer(sub, anchors, types, caller))
  } catch (err) {
    // RFC 9110 section 10.2.3: when to try again.
    if (err instanceof DiscoveryRefused) ctx.set('Retry-After', String(err.retryAfter))
    throw err
  }
}

/**
 * The address a discovery is counted against. Behind a trusted proxy (--trust-proxy) it is
 * the last X-Forwarded-For entry, the one that proxy appended: earlier entries are
 * whatever the client chose to send.
 */
export function clientAddress(ctx: Context, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = ctx.ips.at(-1)
    if (forwarded) return forwarded
  }
  return ctx.socket.remoteAddress
}
