/** A running server: config -> store -> createService (the composition root) -> app -> listener. */
import { join } from 'node:path'
import { access } from 'node:fs/promises'
import { loadConfig, entityIdPort, entityIdPublicPort, CONFIG_FILE, type Config, type Overrides } from '../config/load.js'
import { createLogger, type Logger } from '../logger.js'
import { systemClock, type Clock } from '../clock.js'
import type { Store } from '../storage/types.js'
import type { Federation } from '../federation.js'
import { createService, type Service } from '../service.js'
import { serve, type RunningServer } from '../http/server.js'
import { openStore } from '../storage/open.js'

export interface RunningService {
  config: Config
  service: Service
  federation: Federation
  store: Store
  server: RunningServer
  stop(): Promise<void>
}

export async function startService(
  dir: string,
  overrides: Overrides = {},
  deps: { logger?: Logger; clock?: Clock; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningService> {
  const config = await loadConfig(dir, overrides, deps.env ?? process.env)
  const logger = deps.logger ?? createLogger({ level: config.log_level, base: { entity_id: config.entity_id } })
  const clock = deps.clock ?? systemClock
  const store = await openStore(config, { clock, logger })
  try {
    const service = createService(config, { store, clock, logger })
    await service.start()
    const server = await serve(service)
    const { federation } = service
    warnings(config, logger, listenerWarnings(config, overrides, deps.env ?? process.env))
    if (behindProxy(config)) logger.info(`${config.entity_id} is https and TLS is not terminated here: serving plain HTTP on port ${server.port} for a TLS-terminating proxy in front, which forwards ${config.entity_id} to it (docs/operations.md, "Where the server listens")`)
    // In the background: the first requests then find everything signed and indexed.
    const warming = federation.publisher.warm().catch((err: Error) => logger.warn('warm-up failed', { err: err.message }))
    let stopping: Promise<void> | undefined
    return {
      config, service, federation, store, server,
      stop: () => (stopping ??= shutdown({ server, service, store, logger, warming })),
    }
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
}

/**
 * Clean shutdown, in dependency order: drain the listener (in-flight requests finish, keep-alive
 * connections close), stop background work (timers, pollers, change listeners), and only
 * then close the store, so that nothing touches it once closed.
 */
async function shutdown(o: { server: RunningServer; service: Service; store: Store; logger: Logger; warming: Promise<unknown> }): Promise<void> {
  try {
    const { abandoned } = await o.server.close()
    if (abandoned) o.logger.warn('shutdown timeout: connections with requests still running were dropped', { requests: abandoned })
    await o.warming
    await o.service.stop()
  } finally {
    await o.store.close()
  }
}

function warnings(config: Config, logger: Logger, listener: string[]): void {
  for (const w of listener) logger.warn(w)
  if (!config.kek) {
    // With a KEK there is nothing to warn about: keys in clear refuse the start (federation.start).
    logger.warn('ANCHORAGE_KEK is not set: private keys are stored UNENCRYPTED at rest. In production set ANCHORAGE_KEK (32 random bytes as hex or base64, or a passphrase of 20+ characters) and run `anchorage keys encrypt`.')
  }
  if (config.development) logger.warn('development deployment: http entity ids are allowed; never use this in production')
  if (config.outbound.allow_private_network) logger.warn('outbound fetches may reach loopback and private addresses (allow_private_network)')
  if (config.outbound.allow_http) logger.warn('outbound fetches may use plain http (allow_http)')
}

/**
 * Where the server listens against what its entity id says. A port other than the one
 * written in the entity id (PORT=9000 for http://localhost:8080) serves a configuration
 * whose endpoints point elsewhere: right only behind a reverse proxy that maps one to the
 * other. A development deployment listens on 127.0.0.1, which nobody else reaches when its
 * entity id names another host.
 */
export function listenerWarnings(config: Config, overrides: Overrides, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = []
  const idPort = behindProxy(config) ? undefined : entityIdPublicPort(config.entity_id)
  const port = config.server.port
  // Port 0 (any free port) is a test's or a tool's explicit choice.
  if (idPort !== undefined && port !== idPort && port !== 0) {
    const [source, name] = overrides.port !== undefined ? [`--port ${port}`, '--port'] : env.PORT ? [`PORT=${env.PORT}`, 'PORT'] : [`server.port ${port}`, 'server.port']
    out.push(`${source} disagrees with the entity id ${config.entity_id}: its entity configuration points every endpoint at port ${idPort}, right only behind a proxy that forwards ${idPort} to ${port}; without ${name} the server listens on ${idPort}`)
  }
  const admin = config.admin.listen
  if (admin && !config.admin.tls_cert && !isLoopback(admin.host)) {
    out.push(`admin.listen ${admin.host}:${admin.port} is not a loopback address and the admin plane is plain HTTP: operators' tokens cross the network in clear. Set admin.tls_cert and admin.tls_key (or --admin-tls-cert/--admin-tls-key), or keep it on loopback behind an SSH tunnel or VPN`)
  }
  const host = new URL(config.entity_id).hostname
  if (config.development && isLoopback(config.server.host) && !isLoopback(host)) {
    out.push(`development deployment: listening on ${config.server.host} only, so nothing reaches it as ${host} (the entity id's host) from another machine; --host 0.0.0.0 (or server.host) listens on every interface`)
  }
  return out
}

/**
 * An https entity id without a written port and without TLS here is served behind a
 * TLS-terminating proxy: it forwards 443 to whatever port this listens on, so no port disagrees.
 */
export function behindProxy(config: Config): boolean {
  return new URL(config.entity_id).protocol === 'https:' && entityIdPort(config.entity_id) === undefined && !config.server.tls_cert
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

export async function hasConfig(dir: string): Promise<boolean> {
  try {
    await access(join(dir, CONFIG_FILE))
    return true
  } catch {
    return false
  }
}
