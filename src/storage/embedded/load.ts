/** Validating a dump before `load` writes any of it, so a bad dump leaves the store untouched. */
import { FederationError } from '../../errors.js'
import type { CollectionName, DumpRecord, StoredRecord } from '../types.js'
import { encodeAudit, encodeClaim, encodePut, isCollection, isExpired, toEntry, type Op, type SeqEvent } from './format.js'
import type { AuditItem } from './journal.js'

export interface LoadBatch {
  lines: string[]
  ops: Op[]
  /** The audit events, for the audit segments. */
  audit: AuditItem[]
  lastSeq: number
  collections: Set<CollectionName>
}

const invalid = (n: number, why: string) => new FederationError('invalid_request', `dump item ${n}: ${why}`)

export async function collectLoad(records: AsyncIterable<DumpRecord>, now: number): Promise<LoadBatch> {
  const batch: LoadBatch = { lines: [], ops: [], audit: [], lastSeq: 0, collections: new Set() }
  let n = 0
  for await (const item of records) {
    n++
    switch (item?.type) {
      case 'record': {
        if (!isCollection(item.collection)) throw invalid(n, `unknown collection ${JSON.stringify(item.collection)}`)
        let entry
        try {
          entry = toEntry(item.record)
        } catch (err) {
          throw invalid(n, (err as Error).message)
        }
        if (isExpired(entry.exp, now)) continue // would read as absent anyway
        batch.lines.push(encodePut(item.collection, entry))
        batch.ops.push({ op: 'put', collection: item.collection, record: JSON.parse(entry.json) as StoredRecord })
        batch.collections.add(item.collection)
        break
      }
      case 'audit': {
        const e = item.event
        const seq = e?.seq
        if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq <= batch.lastSeq) {
          throw invalid(n, `audit events need increasing integer seq (got ${JSON.stringify(seq)} after ${batch.lastSeq})`)
        }
        if (typeof e.action !== 'string' || typeof e.actor !== 'string' || typeof e.time !== 'string') {
          throw invalid(n, 'an audit event needs string time, actor and action')
        }
        // seq first, as the store writes it (segment readers find it at the start of the line)
        const { seq: _seq, ...rest } = e
        void _seq
        const json = JSON.stringify({ seq, ...rest })
        batch.lines.push(encodeAudit(json))
        batch.ops.push({ op: 'audit', event: JSON.parse(json) as SeqEvent })
        batch.audit.push({ seq, json })
        batch.lastSeq = seq
        break
      }
      case 'claim': {
        const { scope, key, expires_at } = item
        if (typeof scope !== 'string' || typeof key !== 'string' || typeof expires_at !== 'number') {
          throw invalid(n, 'a claim needs string scope and key and a numeric expires_at')
        }
        if (expires_at <= now) continue
        batch.lines.push(encodeClaim(scope, key, expires_at))
        batch.ops.push({ op: 'claim', scope, key, expires_at })
        break
      }
      default:
        throw invalid(n, `unknown type ${JSON.stringify((item as { type?: unknown })?.type)}`)
    }
  }
  return batch
}
