/**
 * Form parameters of the authorization server's endpoints into the typed requests its
 * services take. Single-valued parameters given twice are refused here (RFC 6749 section
 * 3.1: "Request and response parameters MUST NOT be included more than once").
 */
import { FederationError } from '../../errors.js'
import type { ClientAuthentication } from '../../authorization_server/client_auth.js'
import type { TokenRequest } from '../../authorization_server/tokens.js'
import { single, type Params } from '../params.js'

export function clientAuthenticationOf(form: Params): ClientAuthentication {
  return {
    client_assertion_type: single(form, 'client_assertion_type'),
    client_assertion: single(form, 'client_assertion'),
    client_id: single(form, 'client_id'),
  }
}

export function tokenRequestOf(form: Params): TokenRequest {
  const grant = single(form, 'grant_type', true)
  if (grant !== 'client_credentials') throw new FederationError('unsupported_grant_type', `grant_type ${grant} is not supported: this server issues client_credentials tokens only`)
  return { grant_type: grant, scope: form.getAll('scope'), resource: form.getAll('resource') }
}
