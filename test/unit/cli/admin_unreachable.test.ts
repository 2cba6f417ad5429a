/**
 * What the CLI says when the admin API cannot be reached (src/cli/admin_client.ts unreachable):
 * each certificate failure with the fix that fits it, not a CA hint for a name or a date.
 */
import { strict as assert } from 'node:assert'
import { unreachable } from '../../../src/cli/admin_client.js'

const failed = (code: string, message: string) => new Error(message, { cause: Object.assign(new Error(message), { code }) })
const BASE = 'https://10.0.0.5:8081'

describe('cli: why the admin API cannot be reached', () => {
  it('a certificate of an unknown issuer: give its CA', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
      assert.match(unreachable(BASE, failed(code, 'self-signed certificate'), 'dep'), /its certificate is not trusted .*give its CA with --ca-file FILE or NODE_EXTRA_CA_CERTS$/, code)
    }
  })

  it('a certificate for another name, or expired: said as such, without the CA hint (a CA would not help)', () => {
    const name = unreachable(BASE, failed('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: IP: 10.0.0.5 is not in the cert's list: 127.0.0.1"), 'dep')
    assert.match(name, /its certificate is not for this address .*: reach it by a name or address the certificate lists, or give admin\.tls_cert a certificate for it$/)
    assert.doesNotMatch(name, /--ca-file/)
    const expired = unreachable(BASE, failed('CERT_HAS_EXPIRED', 'certificate has expired'), 'dep')
    assert.match(expired, /its certificate has expired .*: renew admin\.tls_cert$/)
    assert.doesNotMatch(expired, /--ca-file/)
  })

  it('nothing listening: how to start the server', () => {
    assert.match(unreachable(BASE, failed('ECONNREFUSED', 'connect ECONNREFUSED'), 'dep'), /connection refused\) — is it running\? Start it with `anchorage serve --dir dep`/)
  })
})
