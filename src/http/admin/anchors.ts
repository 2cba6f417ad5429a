/**
 * Admin routes of the pinned trust anchors (README "Key rollover"): list the pins, and
 * refresh them from the anchors' entity configurations (trust_chain/anchor_pins.ts).
 */
import type Router from '@koa/router'
import type { AnchorPins, PinRefresh } from '../../trust_chain/anchor_pins.js'
import { isFederationError, InvalidRequest } from '../../errors.js'
import { readOptionalJson, type BodyLimits } from '../body.js'
import { validator, describeAjvError } from '../../config/schemas.js'
import { actorOf, respond } from './respond.js'

type Refreshed = PinRefresh | { entity_id: string; error: string; error_description: string }

export function anchorRoutes(router: Router, pins: AnchorPins, limits: BodyLimits): void {
  router.get('/anchors', async (ctx) => {
    const anchors = await pins.anchors()
    respond(ctx, 200, { anchors: anchors.map((a) => ({ entity_id: a.entity_id, kids: a.jwks.keys.map((k) => k.kid) })) })
  })
  /** One anchor: its result or its exact error. All anchors: one result or error each. */
  router.post('/anchors/refresh', async (ctx) => {
    const body = await readOptionalJson(ctx, limits)
    const v = validator('anchor_refresh')
    if (!v(body)) throw new InvalidRequest(describeAjvError(v.errors))
    const { anchor, accept_kid } = body as { anchor?: string; accept_kid?: string }
    if (accept_kid !== undefined && anchor === undefined) throw new InvalidRequest('accept_kid: only with anchor (a key is accepted for one anchor)')
    const actor = actorOf(ctx)
    if (anchor !== undefined) {
      respond(ctx, 200, { anchors: [await pins.refresh(anchor, { actor, ...(accept_kid !== undefined ? { acceptKid: accept_kid } : {}) })] })
      return
    }
    const results: Refreshed[] = []
    for (const a of await pins.anchors()) {
      try {
        results.push(await pins.refresh(a.entity_id, { actor }))
      } catch (err) {
        if (!isFederationError(err)) throw err
        results.push({ entity_id: a.entity_id, error: err.error, error_description: err.message })
      }
    }
    respond(ctx, 200, { anchors: results })
  })
}
