/**
 * The embedded store: the shared contract, then what only a local journal can get wrong
 * (crashes, torn lines, compaction steps, the lock, group commit). Real files, real
 * fsync, real child processes killed with SIGKILL.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ManualClock } from '../../src/clock.js'
import { createLogger, type Logger } from '../../src/logger.js'
import { createEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from '../../src/storage/embedded.js'
import { SortedIds, compareCodePoints } from '../../src/storage/embedded/sorted_ids.js'
import type { Store } from '../../src/storage/types.js'
import { storageContract } from './contract.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WRITER = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url))
const T0 = 1_700_000_000

storageContract('embedded', async () => {
  const base = await mkdtemp(join(tmpdir(), 'anchorage-contract-'))
  const clock = new ManualClock(T0)
  const opened: Store[] = []
  const make = async () => {
    const store = createEmbeddedStore({ dir: join(base, 'data'), clock })
    await store.open()
    opened.push(store)
    return store
  }
  const store = await make()
  return {
    store,
    clock,
    reopen: make,
    cleanup: async () => {
      for (const s of opened) await s.close()
      await rm(base, { recursive: true, force: true })
    },
  }
})

describe('embedded store', function () {
  this.timeout(20_000)
  let base: string
  let dir: string
  const open: EmbeddedStore[] = []
  const logs: string[] = []
  const logger: Logger = createLogger({ level: 'debug', write: (line) => logs.push(line) })

  async function openStore(options: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
    const store = createEmbeddedStore({ dir, clock: new ManualClock(T0), logger, ...options })
    await store.open()
    open.push(store)
    return store
  }

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'anchorage-embedded-'))
    dir = join(base, 'data')
    logs.length = 0
  })
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
    await rm(base, { recursive: true, force: true })
  })

  const journal = () => join(dir, 'journal.jsonl')
  const member = (i: number) => ({ id: `https://m${String(i).padStart(5, '0')}.example`, status: 'active' })

  it('creates its directory private (0700) with journal and lock files', async () => {
    await openStore()
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
    assert.deepEqual((await readdir(dir)).sort(), ['LOCK', 'journal.jsonl'])
    assert.equal(JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')).pid, process.pid)
  })

  /** Every member has exactly one add event, and every add event names a member. */
  async function assertAuditMatches(store: Store): Promise<void> {
    const events = new Map<string, number>()
    for (let after = 0; ; ) {
      const page = await store.listAudit({ after, limit: 1000, action: 'subordinate.add' })
      for (const e of page) events.set(e.subject!, (events.get(e.subject!) ?? 0) + 1)
      if (page.length < 1000) break
      after = page.at(-1)!.seq!
    }
    const members = (await store.list('subordinates')).map((r) => r.id)
    for (const id of members) assert.equal(events.get(id), 1, `${id} has ${events.get(id) ?? 0} add events`)
    assert.equal(events.size, members.length, 'an event names a member that does not exist')
  }

  describe('crash safety (child process killed with SIGKILL)', () => {
    it('keeps every acknowledged write, each with exactly one audit event', async () => {
      for (const killAfter of [150, 1200]) {
        dir = join(base, `data-${killAfter}`) // each run its own members and events
        const run = await runWriter([dir, '100000', '--compact-every', '300'], killAfter)
        assert.equal(run.signal, 'SIGKILL')
        assert.ok(run.acked.length >= killAfter)
        const store = await openStore()
        for (const id of run.acked) assert.ok(await store.get('subordinates', id), `acknowledged ${id} was lost`)
        await assertAuditMatches(store)
        await store.close()
        open.pop()
      }
    })

    for (const step of ['journal-renamed', 'journal-rotated', 'snapshot-written', 'compacted']) {
      it(`recovers from a crash at compaction step ${step}`, async () => {
        const run = await runWriter([dir, '400', '--compact-every', '50', '--crash-at', step, '--concurrency', '4'])
        assert.equal(run.signal, 'SIGKILL', run.stderr)
        const store = await openStore()
        const ids = new Set((await store.list('subordinates')).map((r) => r.id))
        for (const id of run.acked) assert.ok(ids.has(id), `acknowledged ${id} was lost`)
        await assertAuditMatches(store)
        assert.ok(!(await readdir(dir)).includes('journal.prev.jsonl'), 'recovery finishes the compaction')
        await store.put('subordinates', member(1))
        await store.close()
        open.pop()
        const again = await openStore()
        assert.equal(await again.count('subordinates'), ids.size + 1)
      })
    }

    it('ignores a leftover snapshot.jsonl.tmp', async () => {
      const store = await openStore()
      await store.put('keys', { id: 'k1' })
      await store.compact()
      await store.put('keys', { id: 'k2' })
      await store.close()
      open.pop()
      await writeFile(join(dir, 'snapshot.jsonl.tmp'), '{"op":"snapshot","format":"anchorage-embedded","ver')
      const reopened = await openStore()
      assert.deepEqual((await reopened.list('keys')).map((r) => r.id), ['k1', 'k2'])
      assert.ok(!(await readdir(dir)).includes('snapshot.jsonl.tmp'))
    })
  })

  describe('journal damage', () => {
    async function threeRecords(): Promise<void> {
      const store = await openStore()
      for (let i = 0; i < 3; i++) await store.put('subordinates', member(i))
      await store.close()
      open.pop()
    }

    it('drops a torn last line with a warning, and appends cleanly after it', async () => {
      await threeRecords()
      await appendFile(journal(), '{"op":"put","collection":"subordinates","record":{"id":"https://tor')
      const store = await openStore()
      assert.equal(await store.count('subordinates'), 3)
      assert.ok(logs.some((l) => l.includes('torn')), logs.join('\n'))
      await store.put('subordinates', member(3))
      await store.close()
      open.pop()
      assert.ok((await readFile(journal(), 'utf8')).endsWith('}\n'))
      assert.equal(await (await openStore()).count('subordinates'), 4)
    })

    it('drops a garbage tail of several lines (unflushed blocks read back as zeros)', async () => {
      await threeRecords()
      await appendFile(journal(), '\0\0\0\0\n\0\0\0\n\0\0')
      assert.equal(await (await openStore()).count('subordinates'), 3)
    })

    it('refuses a corrupt line in the middle, naming file and line, and releases the lock', async () => {
      await threeRecords()
      const lines = (await readFile(journal(), 'utf8')).split('\n')
      lines[2] = '{"op":"put","collection":"subordinates","rec'
      await writeFile(journal(), lines.join('\n'))
      await assert.rejects(openStore(), /journal\.jsonl:3: corrupt line/)
      await assert.rejects(openStore(), /journal\.jsonl:3/, 'a second attempt fails the same way, not on the lock')
    })
  })

  describe('compaction', () => {
    it('compacts into a snapshot, prunes what expired, and restarts with everything', async () => {
      const clock = new ManualClock(T0)
      const store = await openStore({ clock })
      for (let i = 0; i < 50; i++) await store.put('subordinates', member(i))
      for (let i = 0; i < 5; i++) await store.remove('subordinates', member(i).id)
      await store.put('tokens', { id: 'old', expires_at: T0 + 1 })
      await store.claimOnce('jti', 'old', T0 + 1)
      await store.claimOnce('jti', 'live', T0 + 100)
      await store.appendAudit({ time: 't', actor: 'a', action: 'x', outcome: 'success' })
      clock.advance(1)
      await store.compact()
      assert.equal(store.stats().compactions, 1)
      const snapshot = await readFile(join(dir, 'snapshot.jsonl'), 'utf8')
      assert.ok(!snapshot.includes('"old"'), 'expired record and claim are not carried over')
      assert.equal((await readFile(journal(), 'utf8')).trim().split('\n').length, 1, 'fresh journal: header only')
      assert.ok(!(await readdir(dir)).includes('journal.prev.jsonl'))
      await store.put('subordinates', member(99))
      const before = await collect(store.dump())
      await store.close()
      open.pop()
      const reopened = await openStore({ clock })
      assert.deepEqual(await collect(reopened.dump()), before)
      assert.equal(await reopened.claimOnce('jti', 'live', T0 + 100), false)
      assert.equal((await reopened.appendAudit({ time: 't', actor: 'a', action: 'y', outcome: 'success' })).seq, 2)
    })

    it('compacts on its own once the journal outgrows compactEvery', async () => {
      const store = await openStore({ compactEvery: 20 })
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.put('subordinates', member(i % 10))))
      for (let i = 0; i < 40; i++) await store.put('subordinates', member(i % 10))
      await store.close()
      open.pop()
      assert.ok(store.stats().compactions >= 1, JSON.stringify(store.stats()))
      assert.equal(await (await openStore()).count('subordinates'), 10)
    })
  })

  describe('lock', () => {
    it('refuses a second opener in this process, and again after it closes nothing is held', async () => {
      const first = await openStore()
      await assert.rejects(openStore(), /in use by this process.*LOCK/)
      await first.close()
      open.splice(0)
      await openStore()
    })

    it('refuses another process, naming ours', async () => {
      await openStore()
      const run = await runWriter([dir, '1'])
      assert.equal(run.code, 3)
      assert.match(run.stderr, new RegExp(`in use by process ${process.pid}`))
    })

    it('takes over a stale lock left by a dead process', async () => {
      const dead = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-e', ''])
        child.on('exit', () => resolve(child.pid!))
      })
      await openStore()
      await open.pop()!.close()
      await writeFile(join(dir, 'LOCK'), JSON.stringify({ pid: dead }))
      await openStore()
      assert.equal(JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')).pid, process.pid)
    })
  })

  describe('performance', () => {
    it('group commit: 1000 concurrent puts share a few fsyncs', async () => {
      const store = await openStore()
      const before = store.stats().fsyncs
      await Promise.all(Array.from({ length: 1000 }, (_, i) => store.put('subordinates', member(i))))
      const fsyncs = store.stats().fsyncs - before
      assert.ok(fsyncs <= 3, `${fsyncs} fsyncs for 1000 concurrent writes`)
      assert.equal(await store.count('subordinates'), 1000)
    })

    // Insert and page times are measured in bench/storage.ts (sortedInsertsMs, sortedPageMs), not here.
    it('keeps 100k ids sorted in code-point order, inserted one by one', () => {
      const ids = Array.from({ length: 100_000 }, (_, i) => `https://m${(i * 7919) % 100_003}.example/${'é😀ﬀ'[i % 3]}`)
      const sorted = new SortedIds()
      for (const id of ids) sorted.insert(id)
      const reference = (a: string, b: string) => {
        const x = [...a].map((c) => c.codePointAt(0)!)
        const y = [...b].map((c) => c.codePointAt(0)!)
        for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
        return x.length - y.length
      }
      const all = sorted.toArray()
      assert.equal(all.length, new Set(ids).size)
      for (let i = 1; i < all.length; i++) assert.ok(reference(all[i - 1]!, all[i]!) < 0)
      for (const [a, b] of [['\uffff', '😀'], ['😀', '😁'], ['a', 'ab'], ['\ue000', '\ud7ff']] as const) {
        assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(reference(a, b)), `${a} vs ${b}`)
      }
      let seen = 0
      const page: string[] = []
      for (let i = 0; i < 1000; i++) {
        const after = all[(i * 97) % all.length]!
        const from = page.length
        sorted.forEachAfter(after, (id) => (page.push(id), ++seen % 100 !== 0))
        // A page starts right after `after` and visits no more than it keeps.
        if (page.length > from) assert.ok(compareCodePoints(page[from]!, after) > 0)
      }
      assert.ok(seen <= 100_000, `visited ${seen} ids for 1000 pages of at most 100`)
    })
  })
})

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

interface WriterRun {
  acked: string[]
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

/** Runs the writer fixture; SIGKILLs it once `killAfter` acknowledgements were read. */
function runWriter(args: string[], killAfter = Infinity): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const acked: string[] = []
    let stderr = ''
    let partial = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()!
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4))
      if (acked.length >= killAfter) child.kill('SIGKILL')
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ acked, code, signal, stderr }))
  })
}
