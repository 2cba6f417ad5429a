/** Files named by the configuration, read here so that nothing outside config/ reads a file. */
import { readFileSync, writeFileSync, openSync, fsyncSync, closeSync, renameSync } from 'node:fs'
import { ConfigError, type Config } from './load.js'

/** The extra CA certificates outbound fetches trust (`outbound.ca_file`), if configured. */
export function readOutboundCa(config: Config): Buffer | undefined {
  return config.outbound.ca_file ? readFileSync(config.outbound.ca_file) : undefined
}

/** The listener's certificate and key (`server.tls_cert`/`server.tls_key`), when TLS is terminated here. */
export function readServerTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  const { tls_cert: cert, tls_key: key } = config.server
  return cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined
}

/** The admin plane's certificate and key (`admin.tls_cert`/`admin.tls_key`), when it is served over TLS. */
export function readAdminTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  const { tls_cert: cert, tls_key: key } = config.admin
  return cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined
}

/**
 * A users file (`authorization_server.users_file`, `anchorage users add`): its parsed JSON,
 * unchecked (authorization_server/accounts.ts reads it as outside JSON), or undefined when
 * the file does not exist.
 */
export function readUsersFile(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`)
  }
}

/** Replaces a users file: written beside it (mode 0600: it holds password hashes), fsynced, renamed over it. */
export function writeUsersFile(path: string, content: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 })
  const fd = openSync(tmp, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

/** The upstream OpenID Provider client's private JWK (`authorization_server.upstream.private_key_file`), unchecked. */
export function readUpstreamKey(config: Config): unknown {
  const path = config.authorization_server?.upstream?.private_key_file
  if (!path) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown
  } catch (err) {
    throw new ConfigError(`cannot read the upstream private key ${path}: ${(err as Error).message}`)
  }
}
