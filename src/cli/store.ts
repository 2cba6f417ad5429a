/**
 * `anchorage store export|import`: moves a deployment's data between stores (embedded <->
 * MongoDB) as JSON lines, one DumpRecord a line, in a deterministic order so that an
 * export -> import -> export round trip is byte-identical.
 */
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { loadConfig } from '../config/load.js'
import { openStore } from '../storage/open.js'
import { systemClock } from '../clock.js'
import { silentLogger } from '../logger.js'
import type { DumpRecord } from '../storage/types.js'
import { parse, UsageError, type IO } from './args.js'

export const STORE_HELP = `Usage: anchorage store <export|import> --dir DIR [--store SPEC]

  export   write every record, audit event and replay claim of the store as JSON lines
           to standard output
  import   read such lines from standard input into an EMPTY store

  --dir DIR      deployment directory (default ./federation)
  --store SPEC   'embedded' or a mongodb:// URI (default: $ANCHORAGE_STORE, else the configuration)

The embedded store is locked by a running server: stop it first (a MongoDB store can be
exported live). Example, embedded -> MongoDB:
  anchorage store export --dir DIR > dump.jsonl
  anchorage store import --dir DIR --store mongodb://db1,db2,db3/anchorage?replicaSet=rs0 < dump.jsonl`

export async function storeCommand(argv: string[], io: IO & { stdin?: NodeJS.ReadableStream; write?: (chunk: string) => Promise<void> }): Promise<number> {
  const [action, ...rest] = argv
  const { values } = parse(rest, { dir: { type: 'string' }, store: { type: 'string' } })
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(STORE_HELP)
    return action ? 0 : 2
  }
  if (action !== 'export' && action !== 'import') throw new UsageError(`store: unknown action "${action}"`)
  const config = await loadConfig(values.dir ?? 'federation', values.store ? { store: values.store } : {}, io.env)
  const store = await openStore(config, { clock: systemClock, logger: silentLogger })
  try {
    if (action === 'export') {
      const write = io.write ?? writeStdout
      let n = 0
      for await (const rec of store.dump()) {
        await write(JSON.stringify(rec) + '\n')
        n++
      }
      io.stderr(`exported ${n} lines from the ${store.kind} store`)
      return 0
    }
    if ((await store.count('subordinates')) > 0 || (await store.listAudit({ limit: 1 })).length > 0) {
      throw new UsageError(`store import: the target ${store.kind} store is not empty`)
    }
    const input = io.stdin ?? process.stdin
    let line = 0
    async function* records(): AsyncIterable<DumpRecord> {
      for await (const text of createInterface({ input: input as Readable, crlfDelay: Infinity })) {
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

function writeStdout(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(chunk)) resolve()
    else process.stdout.once('drain', resolve).once('error', reject)
  })
}
