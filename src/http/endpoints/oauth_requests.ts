/**
 * Form parameters of the authorization server's endpoints into the typed requests its
 * services take. Single-valued parameters given twice are refused here (RFC 6749 section
 * 3.1: "Request and response parameters MUST NOT be included more than once").
 */
import type { ClientAuthentication } from '../../authorization_server/client_auth.js'
import { single, type Params } from '../params.js'

export function clientAuthenticationOf(form: Params): ClientAuthentication {
  return {
    client_assertion_type: single(form, 'client_assertion_type'),
    client_assertion: single(form, 'client_assertion'),
    client_id: single(form, 'client_id'),
  }
}
