/** Media types and JWS `typ` values of the spec's "Media Types" section. */
export const MEDIA = Object.freeze({
  entityStatement: 'application/entity-statement+jwt',
  trustMark: 'application/trust-mark+jwt',
  trustMarkDelegation: 'application/trust-mark-delegation+jwt',
  resolveResponse: 'application/resolve-response+jwt',
  trustMarkStatusResponse: 'application/trust-mark-status-response+jwt',
  jwkSet: 'application/jwk-set+jwt',
  explicitRegistrationResponse: 'application/explicit-registration-response+jwt',
  trustChain: 'application/trust-chain+json',
  json: 'application/json',
  /** Anchorage's software statements (docs/software-statements.md): explicit typing per RFC 8725 section 3.11. */
  softwareStatement: 'application/software-statement+jwt',
  /** The issuer's signed answer about one of its software statements (docs/software-statements.md, "Status"). */
  softwareStatementStatusResponse: 'application/software-statement-status-response+jwt',
})

export const TYP = Object.freeze({
  entityStatement: 'entity-statement+jwt',
  trustMark: 'trust-mark+jwt',
  trustMarkDelegation: 'trust-mark-delegation+jwt',
  resolveResponse: 'resolve-response+jwt',
  trustMarkStatusResponse: 'trust-mark-status-response+jwt',
  jwkSet: 'jwk-set+jwt',
  explicitRegistrationResponse: 'explicit-registration-response+jwt',
  accessToken: 'at+jwt',
  /** RFC 7591 section 2.3 software statements issued by this entity; any other typ is refused. */
  softwareStatement: 'software-statement+jwt',
  softwareStatementStatusResponse: 'software-statement-status-response+jwt',
})

export const WELL_KNOWN_FEDERATION = '/.well-known/openid-federation'

export const ENTITY_TYPES = Object.freeze([
  'federation_entity',
  'openid_relying_party',
  'openid_provider',
  'oauth_authorization_server',
  'oauth_client',
  'oauth_resource',
] as const)

/** Asymmetric JWS algorithms we accept; never `none`, never HMAC. */
export const SIGNING_ALGS = Object.freeze([
  'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519',
] as const)
export type SigningAlg = (typeof SIGNING_ALGS)[number]
