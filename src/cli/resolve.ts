/**
 * `anchorage resolve ENTITY_ID --trust-anchor URL ...`: runs the resolver locally (no
 * server) and prints the chain as a tree, the resolved metadata, or every path tried and
 * why it failed. Exit 0 when a chain resolves, 1 when none does, 2 on usage errors.
 */
import { readFileSync } from 'node:fs'
import { parse, UsageError, entityTypes, type IO } from './args.js'
import { DEFAULTS, ENV } from '../config/defaults.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import { systemClock } from '../clock.js'
import { silentLogger } from '../logger.js'
import { createFetcher, type Fetcher } from '../net/fetch.js'
import { isJwks } from '../crypto/jwks.js'
import { isFederationError } from '../errors.js'
import { createTrustMarkVerifier } from '../trust_marks/verify.js'
import { Resolver } from '../trust_chain/resolver.js'
import { ChainError, ResolveError } from '../trust_chain/errors.js'
import { directSource, fetchEntityConfiguration, isUnobtainable } from '../trust_chain/statements.js'
import type { ResolvedChain, TrustAnchor } from '../trust_chain/types.js'
import type { Jwks } from '../types.js'
import { renderChain, renderFailure } from '../trust_chain/report.js'

export const RESOLVE_HELP = `Usage: anchorage resolve ENTITY_ID --trust-anchor URL [options]

Collects and validates the trust chain of ENTITY_ID up to a trust anchor, applies the
metadata policies, verifies trust marks, and prints the chain, the resolved metadata,
or every path tried with the statement and rule that failed.

  --trust-anchor URL         a trust anchor to resolve to; repeatable
  --trust-anchor-jwks FILE   its pinned federation keys (a JWK Set, JSON), in the order of
                             --trust-anchor. Without it the anchor's keys are taken from its
                             own entity configuration for this run (trust on first use)
  --entity-type T            resolve only this entity type; repeatable
  --json                     machine-readable output
  --allow-http               allow http entity ids ($${ENV.allowHttp}=1)
  --allow-private-network    allow loopback/private addresses ($${ENV.allowPrivateNetwork}=1)
  --ca-file FILE             extra CA certificates (PEM) trusted for https`

const OPTIONS = {
  'trust-anchor': { type: 'string', multiple: true }, 'trust-anchor-jwks': { type: 'string', multiple: true },
  'entity-type': { type: 'string', multiple: true }, json: { type: 'boolean' },
  'allow-http': { type: 'boolean' }, 'allow-private-network': { type: 'boolean' }, 'ca-file': { type: 'string' },
} as const

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v)

export async function resolveCommand(argv: string[], io: IO): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    io.stdout(RESOLVE_HELP)
    return 0
  }
  const subject = positionals[0]
  if (!subject || positionals.length > 1) throw new UsageError('resolve: exactly one ENTITY_ID is required')
  const anchorIds = values['trust-anchor'] ?? []
  if (!anchorIds.length) throw new UsageError('resolve: --trust-anchor is required')
  for (const id of [subject, ...anchorIds]) if (!isEntityIdSyntax(id)) throw new UsageError(`resolve: not an entity identifier: ${id}`)
  const types = entityTypes(values['entity-type'])
  const jwksFiles = values['trust-anchor-jwks'] ?? []
  if (jwksFiles.length > anchorIds.length) throw new UsageError('resolve: more --trust-anchor-jwks than --trust-anchor')
  const fetcher = createFetcher({
    allowHttp: Boolean(values['allow-http']) || truthy(io.env[ENV.allowHttp]),
    allowPrivateNetwork: Boolean(values['allow-private-network']) || truthy(io.env[ENV.allowPrivateNetwork]),
    timeoutMs: DEFAULTS.outbound.timeout_ms,
    maxResponseBytes: DEFAULTS.outbound.max_response_bytes,
    ...(values['ca-file'] ? { ca: readFileSync(values['ca-file']) } : {}),
  })
  const anchors: TrustAnchor[] = []
  for (const [i, id] of anchorIds.entries()) {
    const file = jwksFiles[i]
    anchors.push({ entity_id: id, jwks: file ? await readJwks(io, file) : await keysFromConfiguration(fetcher, id, io) })
  }
  const resolver = new Resolver({
    fetcher, clock: systemClock, logger: silentLogger, skew: DEFAULTS.clock_skew, limits: { ...DEFAULTS.resolver }, anchors: () => anchors,
    verifier: createTrustMarkVerifier({ clock: systemClock, skew: DEFAULTS.clock_skew }),
  })
  let chain: ResolvedChain
  try {
    chain = await resolver.resolve(subject, anchorIds, types)
  } catch (err) {
    if (!isFederationError(err)) throw err
    const paths = err instanceof ResolveError ? err.paths : []
    io.stdout(values.json ? JSON.stringify({ ok: false, ...err.toJSON(), paths }, null, 2) : renderFailure(subject, err, paths))
    return 1
  }
  io.stdout(values.json ? JSON.stringify({ ok: true, ...chain }, null, 2) : renderChain(chain))
  return 0
}

async function readJwks(io: IO, file: string): Promise<Jwks> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await io.readFile(file))
  } catch (err) {
    throw new UsageError(`--trust-anchor-jwks ${file}: ${(err as Error).message}`)
  }
  if (!isJwks(parsed)) throw new UsageError(`--trust-anchor-jwks ${file}: not a public JWK Set`)
  return parsed
}

/** Trust on first use, said out loud: the anchor's self-signed configuration supplies its keys for this run. */
async function keysFromConfiguration(fetcher: Fetcher, id: string, io: IO): Promise<Jwks> {
  let ec
  try {
    ec = (await fetchEntityConfiguration(id, { source: directSource(fetcher, systemClock), clock: systemClock, skew: DEFAULTS.clock_skew })).claims
  } catch (err) {
    if (!(err instanceof ChainError)) throw err
    if (isUnobtainable(err)) throw new UsageError(`cannot fetch the entity configuration of trust anchor ${id}: ${err.message}`)
    throw new UsageError(`the entity configuration of trust anchor ${id} is not valid: ${err.message}`)
  }
  const kids = ec.jwks.keys.map((k) => k.kid ?? '?').join(', ')
  io.stderr(`note: pinned the keys of ${id} (${kids}) from its own entity configuration for this run only; pass --trust-anchor-jwks FILE to pin them out of band`)
  return ec.jwks
}
