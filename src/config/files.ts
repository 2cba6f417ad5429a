/** Files named by the configuration, read here so that nothing outside config/ reads a file. */
import { readFileSync } from 'node:fs'
import type { Config } from './load.js'

/** The extra CA certificates outbound fetches trust (`outbound.ca_file`), if configured. */
export function readOutboundCa(config: Config): Buffer | undefined {
  return config.outbound.ca_file ? readFileSync(config.outbound.ca_file) : undefined
}

/** The listener's certificate and key (`server.tls_cert`/`server.tls_key`), when TLS is terminated here. */
export function readServerTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  const { tls_cert: cert, tls_key: key } = config.server
  return cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined
}
