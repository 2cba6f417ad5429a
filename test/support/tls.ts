/**
 * A throw-away PKI for TLS tests: a self-signed CA and a server certificate for
 * 127.0.0.1 and localhost, made with the openssl command into a temporary directory.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const run = promisify(execFile)

export interface TestPki {
  dir: string
  /** PEM files. */
  caFile: string
  certFile: string
  keyFile: string
  remove(): Promise<void>
}

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'anchorage-tls-'))
  const f = (name: string) => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Anchorage Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'])
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n')
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')])
  return { dir, caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key'), remove: () => rm(dir, { recursive: true, force: true }) }
}
