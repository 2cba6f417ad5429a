/** Why a trust mark (or its delegation) was not accepted; `reason` is stable for callers and tests. */
export type TrustMarkFailure =
  | 'malformed'
  | 'typ'
  | 'alg'
  | 'kid'
  | 'signature'
  | 'sub'
  | 'trust_mark_type'
  | 'iat'
  | 'expired'
  | 'type_not_recognized'
  | 'issuer_not_allowed'
  | 'issuer_untrusted'
  | 'delegation_missing'
  | 'delegation_malformed'
  | 'delegation_typ'
  | 'delegation_alg'
  | 'delegation_kid'
  | 'delegation_signature'
  | 'delegation_iss'
  | 'delegation_sub'
  | 'delegation_type'
  | 'delegation_iat'
  | 'delegation_expired'
  | 'status'

export class TrustMarkError extends Error {
  /** A refusal resting on a status answer holds until then (the answer's cache time); absent: for good. */
  readonly cacheUntil: number | undefined

  constructor(readonly reason: TrustMarkFailure, message: string, options?: { cause?: unknown; cacheUntil?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TrustMarkError'
    this.cacheUntil = options?.cacheUntil
  }
}
