/**
 * The embedded store's audit log on disk (src/storage/embedded/audit_segments.ts): events
 * in segment files rather than memory or the snapshot, streamed for reads, recovered from
 * the journal when a segment lost its unsynced tail, and pruned by retention without
 * coming back from the journal afterwards. Real files, real fsync.
 */
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, readdir, rm, truncate, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.js'
import { createEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from '../../src/storage/embedded.js'
import type { AuditEvent } from '../../src/storage/types.js'

const T0 = 1_700_000_000
const DAY = 86_400

describe('embedded store: audit log on disk', function () {
  this.timeout(20_000)
  let base: string
  let dir: string
  let clock: ManualClock
  const opened: EmbeddedStore[] = []

  async function openStore(options: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
    const store = createEmbeddedStore({ dir, clock, ...options })
    await store.open()
    opened.push(store)
    return store
  }
  async function reopen(store: EmbeddedStore, options: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
    await store.close()
    return openStore(options)
  }
  const event = (action: string, subject?: string): AuditEvent => ({
    time: new Date(clock.now() * 1000).toISOString(), actor: 'admin', action, outcome: 'success',
    ...(subject === undefined ? {} : { subject }),
  })
  const segments = async () => (await readdir(dir)).filter((f) => /^audit-\d+\.jsonl$/.test(f)).sort()
  async function allEvents(store: EmbeddedStore, query: { action?: string } = {}): Promise<AuditEvent[]> {
    const out: AuditEvent[] = []
    for (let after = 0; ; ) {
      const page = await store.listAudit({ ...query, after, limit: 1000 })
      out.push(...page)
      if (page.length < 1000) return out
      after = page.at(-1)!.seq!
    }
  }

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'anchorage-audit-'))
    dir = join(base, 'data')
    clock = new ManualClock(T0)
  })
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close()
    await rm(base, { recursive: true, force: true })
  })

  it('keeps events in segment files, none in the snapshot, and pages across segments in seq order', async () => {
    const store = await openStore({ auditSegmentBytes: 16 * 1024 })
    const written = await Promise.all(Array.from({ length: 2500 }, (_, i) => store.appendAudit(event(`a${i % 3}`, `s${i}`))))
    await store.compact()
    const snapshot = await readFile(join(dir, 'snapshot.jsonl'), 'utf8')
    assert.ok(!snapshot.includes('"op":"audit"'), 'the snapshot holds no audit events')
    assert.match(snapshot.split('\n')[0]!, /"last_seq":2500/)
    assert.ok((await segments()).length > 10, `several segments: ${(await segments()).length}`)
    assert.deepEqual(await allEvents(store), written)
    assert.deepEqual((await allEvents(store, { action: 'a1' })).map((e) => e.subject), written.filter((e) => e.action === 'a1').map((e) => e.subject))
    assert.deepEqual(await store.listAudit({ subject: 's1234' }), [written[1234]])
    assert.deepEqual(await store.listAudit({ after: written[1999]!.seq!, limit: 2 }), written.slice(2000, 2002))
    const again = await reopen(store, { auditSegmentBytes: 16 * 1024 })
    assert.deepEqual(await allEvents(again), written)
    assert.equal((await again.appendAudit(event('next'))).seq, 2501)
  })

  it('re-appends from the journal the events a segment lost (its unsynced tail, cut mid-line)', async () => {
    const store = await openStore()
    for (let i = 0; i < 20; i++) {
      await store.put('subordinates', { id: `https://m${i}.example` }, { audit: event('subordinate.add', `https://m${i}.example`) })
    }
    await store.close()
    const [segment] = await segments()
    const path = join(dir, segment!)
    await truncate(path, Math.floor((await stat(path)).size / 3))
    await appendFile(path, '\0\0\0')
    const reopened = await openStore()
    const events = await allEvents(reopened)
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1))
    assert.deepEqual(events.map((e) => e.subject), Array.from({ length: 20 }, (_, i) => `https://m${i}.example`))
    assert.equal((await reopened.appendAudit(event('after'))).seq, 21)
    assert.ok((await readFile(path, 'utf8')).endsWith('}\n'))
  })

  it('replays each change with its event from its one journal line: insert, update, remove', async () => {
    const store = await openStore()
    const id = 'https://m.example'
    await store.insert('subordinates', { id, v: 1 }, { audit: event('subordinate.add', id) })
    await store.update('subordinates', id, (cur) => cur && { ...cur, v: 2 }, { audit: event('subordinate.update', id) })
    await store.remove('subordinates', id, { audit: event('subordinate.remove', id) })
    const written = await store.listAudit()
    await store.close()
    const lines = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).trim().split('\n').slice(1)
    assert.equal(lines.length, 3, 'one line per change')
    assert.ok(lines.every((l) => l.includes('"audit":{"seq":')))
    for (const f of await segments()) await rm(join(dir, f)) // as if the audit files had lost everything
    const reopened = await openStore()
    assert.deepEqual(await reopened.listAudit(), written)
    assert.equal(await reopened.get('subordinates', id), undefined)
  })

  it('reads the audit lines of a snapshot written before events moved to segments', async () => {
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir, { recursive: true })
    const head = { format: 'anchorage-embedded', version: 1 }
    const e1 = { seq: 1, time: '2023-11-14T22:13:20.000Z', actor: 'a', action: 'x', outcome: 'success' }
    const e2 = { seq: 2, time: '2023-11-14T22:13:21.000Z', actor: 'a', action: 'y', outcome: 'success' }
    await writeFile(join(dir, 'snapshot.jsonl'), [
      { op: 'snapshot', ...head, covers: 1, last_seq: 2 },
      { op: 'put', collection: 'keys', record: { id: 'k1' } },
      { op: 'audit', event: e1 }, { op: 'audit', event: e2 }, { op: 'end', lines: 3 },
    ].map((l) => JSON.stringify(l) + '\n').join(''))
    await writeFile(join(dir, 'journal.jsonl'), JSON.stringify({ op: 'journal', ...head, generation: 2 }) + '\n')
    const store = await openStore()
    assert.deepEqual(await store.listAudit(), [e1, e2])
    assert.ok(await store.get('keys', 'k1'))
    await store.compact()
    const reopened = await reopen(store)
    assert.deepEqual(await reopened.listAudit(), [e1, e2])
  })

  it('drops a torn segment tail with nothing lost, and appends cleanly after it', async () => {
    const store = await openStore()
    const a = await store.appendAudit(event('a'))
    await store.close()
    await appendFile(join(dir, (await segments())[0]!), '{"seq":2,"time":"20')
    const reopened = await openStore()
    const b = await reopened.appendAudit(event('b'))
    assert.equal(b.seq, 2)
    assert.deepEqual(await reopened.listAudit(), [a, b])
  })

  describe('retention', () => {
    it('prunes whole old segments and the old part of the first kept one', async () => {
      const store = await openStore({ auditSegmentBytes: 4096 })
      for (let i = 0; i < 300; i++) await store.appendAudit(event('old', `o${i}`))
      clock.advance(10 * DAY)
      const kept = []
      for (let i = 0; i < 50; i++) kept.push(await store.appendAudit(event('new', `n${i}`)))
      const before = (await segments()).length
      assert.equal(await store.pruneAudit(T0 + DAY), 300)
      assert.ok((await segments()).length < before, 'old segments are deleted')
      assert.deepEqual(await allEvents(store), kept)
    })

    it('does not bring pruned events back from the journal after a restart', async () => {
      const store = await openStore()
      for (let i = 0; i < 10; i++) await store.put('subordinates', { id: `https://m${i}.example` }, { audit: event('subordinate.add') })
      clock.advance(400 * DAY)
      assert.equal(await store.pruneAudit(clock.now() - 365 * DAY), 10)
      // the journal still holds the ten events (no compaction ran): recovery must not re-append them
      assert.ok((await readFile(join(dir, 'journal.jsonl'), 'utf8')).includes('"audit":{"seq":10'))
      const reopened = await reopen(store)
      assert.deepEqual(await reopened.listAudit(), [])
      assert.equal(await reopened.count('subordinates'), 10)
      assert.equal((await reopened.appendAudit(event('next'))).seq, 11)
    })

    it('prunes at open with the configured retention and the store clock', async () => {
      const store = await openStore({ auditRetentionDays: 30 })
      await store.appendAudit(event('old'))
      clock.advance(31 * DAY)
      const recent = await store.appendAudit(event('recent'))
      await store.close()
      const reopened = await openStore({ auditRetentionDays: 30 })
      assert.deepEqual(await reopened.listAudit(), [recent])
    })

    it('prunes again on its interval while open', async () => {
      const store = await openStore({ auditRetentionDays: 1, auditPruneIntervalMs: 10 })
      await store.appendAudit(event('old'))
      clock.advance(2 * DAY)
      const end = Date.now() + 5_000
      while ((await store.listAudit()).length > 0) {
        assert.ok(Date.now() < end, 'the periodic pass never pruned')
        await new Promise((r) => setTimeout(r, 10))
      }
    })
  })
})
