/**
 * The trust anchors this deployment trusts, for every resolver it runs (the resolve
 * endpoint, registration): `trust_anchors` (keys pinned in configuration) in configured
 * order, and, when this deployment has no authority_hints (it is a trust anchor), itself,
 * last, with its own keystore keys (read per resolution, so a rotation applies at once).
 */
import type { Config } from '../config/load.js'
import type { Jwks } from '../types.js'
import type { TrustAnchor } from './types.js'
import type { AnchorPins } from './anchor_pins.js'

export interface TrustedAnchors {
  /** Entity ids, in order. */
  ids: string[]
  anchors: () => Promise<TrustAnchor[]>
  /** The configured anchors' pins, following their key rollover (anchor_pins.ts); absent: the configuration's pins, fixed. */
  pins?: AnchorPins
}

export function trustedAnchors(
  config: Pick<Config, 'entity_id' | 'authority_hints' | 'trust_anchors'>,
  ownKeys: () => Promise<Jwks>,
  pins?: AnchorPins,
): TrustedAnchors {
  const self = config.entity_id
  const selfAnchor = config.authority_hints.length === 0 && !config.trust_anchors.some((a) => a.entity_id === self)
  const configured: TrustAnchor[] = config.trust_anchors.map((a) => ({ entity_id: a.entity_id, jwks: a.jwks }))
  return {
    ids: [...configured.map((a) => a.entity_id), ...(selfAnchor ? [self] : [])],
    anchors: async () => {
      const pinned = pins ? await pins.anchors() : configured
      return selfAnchor ? [...pinned, { entity_id: self, jwks: await ownKeys() }] : pinned
    },
    ...(pins ? { pins } : {}),
  }
}
