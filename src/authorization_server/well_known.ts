/** RFC 8414 section 3.1: the well-known segment goes between the host and the issuer's path. */
export function metadataPath(issuer: string): string {
  return '/.well-known/oauth-authorization-server' + new URL(issuer).pathname.replace(/\/+$/, '')
}

/** The URL of an issuer's authorization server metadata document. */
export function metadataUrl(issuer: string): string {
  return new URL(issuer).origin + metadataPath(issuer)
}
