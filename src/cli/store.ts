/**
 * `anchorage store export|import`: moves a deployment's data between stores (embedded <->
 * MongoDB) as JSON lines, one DumpRecord a line, in a deterministic order so that an
 * export -> import -> export round trip is byte-identical.
 */
import { createInterface } from 'node:readline'
import { loadConfig, type Config } from '../config/load.js'
import { openStore } from '../storage/open.js'
import { systemClock } from '../clock.js'
import { silentLogger } from '../logger.js'
import type { DumpRecord, Store } from '../storage/types.js'
import type { KeyRecord } from '../crypto/keystore.js'
import { Kek, type SealedKey } from '../crypto/kek.js'
import { parse, UsageError, type IO } from './args.js'

export const STORE_HELP = `Usage: anchorage store <export|import> --dir DIR [--store SPEC]

  export   write every record, audit event and replay claim of the store as JSON lines
           to standard output. Private keys are left out (the keys keep their public
           part and state) unless --include-private-keys is given
  import   read such lines from standard input into an EMPTY store (an export without
           private keys cannot be imported: the deployment could not sign)

  --dir DIR      deployment directory (default ./federation)
  --store SPEC   'embedded' or a mongodb:// URI (default: $ANCHORAGE_STORE, else the configuration)
  --include-private-keys
                 export: include the private keys. The file then lets anyone who reads it
                 sign as this entity unless ANCHORAGE_KEK is set: with a KEK every private
                 key in the file is sealed under it (keys in clear are sealed on the way out)

The embedded store is locked by a running server: stop it first (a MongoDB store can be
exported live). Example, embedded -> MongoDB:
  anchorage store export --dir DIR --include-private-keys > dump.jsonl
  anchorage store import --dir DIR --store mongodb://db1,db2,db3/anchorage?replicaSet=rs0 < dump.jsonl`

type StoreIO = IO & { stdin?: NodeJS.ReadableStream; write?: (chunk: string) => Promise<void> }

export async function storeCommand(argv: string[], io: StoreIO): Promise<number> {
  const [action, ...rest] = argv
  const { values } = parse(rest, { dir: { type: 'string' }, store: { type: 'string' }, 'include-private-keys': { type: 'boolean' } })
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(STORE_HELP)
    return action ? 0 : 2
  }
  if (action !== 'export' && action !== 'import') throw new UsageError(`store: unknown action "${action}"`)
  const config = await loadConfig(values.dir ?? 'federation', values.store ? { store: values.store } : {}, io.env)
  const store = await openStore(config, { clock: systemClock, logger: silentLogger })
  try {
    if (action === 'export') return await exportStore(store, config, values['include-private-keys'] ?? false, io)
    if ((await store.count('subordinates')) > 0 || (await store.listAudit({ limit: 1 })).length > 0) {
      throw new UsageError(`store import: the target ${store.kind} store is not empty`)
    }
    const input = io.stdin ?? process.stdin
    let line = 0
    async function* records(): AsyncIterable<DumpRecord> {
      for await (const text of createInterface({ input, crlfDelay: Infinity })) {
        line++
        if (!text.trim()) continue
        let rec: DumpRecord
        try {
          rec = JSON.parse(text) as DumpRecord
        } catch {
          throw new UsageError(`store import: line ${line} is not JSON`)
        }
        if (!rec || !['record', 'audit', 'claim'].includes((rec as { type?: string }).type ?? '')) {
          throw new UsageError(`store import: line ${line} is not a dump record`)
        }
        const missing = withoutPrivateKey(rec)
        if (missing) throw new UsageError(`store import: line ${line}: key ${missing} has no private key (exported without --include-private-keys): export again with it`)
        yield rec
      }
    }
    await store.load(records())
    io.stderr(`imported ${line} lines into the ${store.kind} store`)
    return 0
  } finally {
    await store.close()
  }
}

/** Export: private keys left out, or included (sealed under the KEK when one is set) with a loud warning. */
async function exportStore(store: Store, config: Config, includePrivate: boolean, io: StoreIO): Promise<number> {
  const write = io.write ?? writeStdout
  let n = 0
  let keys = 0
  let clear = 0
  for await (const rec of store.dump()) {
    let out = rec
    if (rec.type === 'record' && rec.collection === 'keys') {
      keys++
      const { sealed, ...rest } = rec.record as KeyRecord
      const kept = includePrivate ? await sealForExport(sealed, config.kek && Kek.of(config.kek)) : undefined
      if (kept?.enc === 'none') clear++
      out = { ...rec, record: kept ? { ...rest, sealed: kept } : rest }
    }
    await write(JSON.stringify(out) + '\n')
    n++
  }
  io.stderr(`exported ${n} lines from the ${store.kind} store`)
  if (!keys) return 0
  if (!includePrivate) io.stderr(`private keys left out (${keys} key(s)): this export cannot restore a deployment that signs; --include-private-keys includes them`)
  else if (clear) io.stderr(`WARNING: THIS EXPORT HOLDS ${clear} PRIVATE KEY(S) UNENCRYPTED: whoever reads it can sign as ${config.entity_id}. Keep it secret, or export with ANCHORAGE_KEK set.`)
  else io.stderr(`WARNING: this export holds ${keys} private key(s), sealed under ANCHORAGE_KEK: keep the file and the KEK apart.`)
  return 0
}

/** With a KEK, a key stored in clear is sealed in the export (the store itself is left as it is). */
async function sealForExport(sealed: SealedKey, kek: Kek | undefined): Promise<SealedKey> {
  return sealed.enc === 'none' && kek ? kek.seal(sealed.jwk) : sealed
}

/** The kid of a key record that carries no private key (an export without them), if `rec` is one. */
function withoutPrivateKey(rec: DumpRecord): string | undefined {
  if (rec.type !== 'record' || rec.collection !== 'keys') return undefined
  const r = rec.record as unknown
  // Anything malformed is the store's to refuse (load); this only names a key without its private part.
  if (!r || typeof r !== 'object' || Object.hasOwn(r, 'sealed')) return undefined
  return Object.hasOwn(r, 'id') ? String((r as { id: unknown }).id) : '(no id)'
}

function writeStdout(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(chunk)) resolve()
    else process.stdout.once('drain', resolve).once('error', reject)
  })
}
