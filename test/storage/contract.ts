/**
 * The behavioural contract of src/storage/types.ts. Every adapter runs it:
 *
 *   storageContract('embedded', async () => ({ store, clock, cleanup, reopen }))
 *
 * `factory` returns an open, empty store whose expiry decisions use `clock`. `cleanup`
 * closes every store the context handed out (reopened ones too) and deletes the data.
 * `reopen` (optional, for persistent adapters) is called after the suite closed `store`
 * and returns a new, open store over the same data.
 */
import assert from 'node:assert/strict'
import type { ManualClock } from '../../src/clock.js'
import { FederationError } from '../../src/errors.js'
import { INDEXED_FIELDS, type AuditEvent, type DumpRecord, type Store, type StoredRecord } from '../../src/storage/types.js'

export interface ContractContext {
  store: Store
  clock: ManualClock
  cleanup: () => Promise<void>
  reopen?: () => Promise<Store>
}

type Counter = StoredRecord & { n: number }

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function* from<T>(items: T[]): AsyncIterable<T> {
  yield* items
}

const isConflict = (err: unknown) => err instanceof FederationError && err.error === 'conflict' && err.status === 409
const ids = (records: StoredRecord[]) => records.map((r) => r.id)
const tick = () => new Promise((r) => setImmediate(r))

// Code-point order: astral characters (emoji) after U+FB00, unlike UTF-16 `sort()`.
const SORTED_IDS = ['B', 'a', 'a b', 'aa', 'b', 'z', '~', 'é', 'ÿ', 'ﬀ', '😀']

export function storageContract(name: string, factory: () => Promise<ContractContext>): void {
  describe(`storage contract: ${name}`, function () {
    this.timeout(20_000)
    let ctx: ContractContext
    let store: Store
    let clock: ManualClock
    const others: ContractContext[] = []

    beforeEach(async () => {
      ctx = await factory()
      ;({ store, clock } = ctx)
    })
    afterEach(async () => {
      await ctx.cleanup()
      for (const o of others.splice(0)) await o.cleanup()
    })

    const event = (action: string, subject?: string): AuditEvent => ({
      time: new Date(clock.now() * 1000).toISOString(),
      actor: 'admin',
      action,
      ...(subject === undefined ? {} : { subject }),
      outcome: 'success',
    })

    it('is ready when open and names its kind', async () => {
      assert.equal(await store.ready(), true)
      assert.ok(store.kind.length > 0)
    })

    describe('records', () => {
      it('get returns undefined for a missing id, put creates and replaces', async () => {
        assert.equal(await store.get('keys', 'k1'), undefined)
        await store.put('keys', { id: 'k1', v: 1 })
        assert.deepEqual(await store.get('keys', 'k1'), { id: 'k1', v: 1 })
        await store.put('keys', { id: 'k1', v: 2, tags: ['x'], nested: { a: [1, null] } })
        assert.deepEqual(await store.get('keys', 'k1'), { id: 'k1', v: 2, tags: ['x'], nested: { a: [1, null] } })
      })

      it('hands out copies: mutating what was read or written does not change the store', async () => {
        const rec = { id: 'k1', tags: ['a'] }
        await store.put('keys', rec)
        rec.tags.push('written')
        const read = await store.get<StoredRecord & { tags: string[] }>('keys', 'k1')
        read!.tags.push('read')
        assert.deepEqual(await store.get('keys', 'k1'), { id: 'k1', tags: ['a'] })
      })

      it('keeps collections apart', async () => {
        await store.put('keys', { id: 'same', c: 'keys' })
        await store.put('settings', { id: 'same', c: 'settings' })
        assert.deepEqual(await store.get('keys', 'same'), { id: 'same', c: 'keys' })
        assert.equal(await store.count('keys'), 1)
        assert.equal(await store.count('tokens'), 0)
      })

      it('insert creates, and refuses an existing id with a 409 conflict', async () => {
        await store.insert('subordinates', { id: 'https://a.example' })
        await assert.rejects(store.insert('subordinates', { id: 'https://a.example', other: 1 }), isConflict)
        assert.deepEqual(await store.get('subordinates', 'https://a.example'), { id: 'https://a.example' })
      })

      it('of concurrent inserts of one id exactly one succeeds', async () => {
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.insert('keys', { id: 'k', i })))
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
        for (const r of results) if (r.status === 'rejected') assert.ok(isConflict(r.reason))
      })

      it('remove says whether something was there', async () => {
        await store.put('keys', { id: 'k1' })
        assert.equal(await store.remove('keys', 'k1'), true)
        assert.equal(await store.get('keys', 'k1'), undefined)
        assert.equal(await store.remove('keys', 'k1'), false)
        assert.equal(await store.remove('keys', 'never'), false)
      })

      it('500 concurrent puts all succeed', async () => {
        const all = Array.from({ length: 500 }, (_, i) => ({ id: `m${String(i).padStart(3, '0')}`, i }))
        await Promise.all(all.map((r) => store.put('subordinates', r)))
        assert.equal(await store.count('subordinates'), 500)
        assert.deepEqual(await store.list('subordinates'), all)
      })
    })

    describe('update', () => {
      it('creates, modifies, or leaves as is', async () => {
        const created = await store.update<Counter>('settings', 'c', (cur) => {
          assert.equal(cur, undefined)
          return { id: 'c', n: 1 }
        })
        assert.deepEqual(created, { id: 'c', n: 1 })
        // mutate may modify its argument: it is a copy
        const bumped = await store.update<Counter>('settings', 'c', (cur) => (cur && ((cur.n += 1), cur)))
        assert.deepEqual(bumped, { id: 'c', n: 2 })
        assert.deepEqual(await store.update<Counter>('settings', 'c', () => undefined), { id: 'c', n: 2 })
        assert.deepEqual(await store.get('settings', 'c'), { id: 'c', n: 2 })
        assert.equal(await store.update('settings', 'none', () => undefined), undefined)
        assert.equal(await store.get('settings', 'none'), undefined)
      })

      it('is atomic: 200 concurrent increments of one record give 200', async () => {
        const inc = (cur: Counter | undefined): Counter => ({ id: 'counter', n: (cur?.n ?? 0) + 1 })
        await Promise.all(Array.from({ length: 200 }, () => store.update<Counter>('settings', 'counter', inc)))
        assert.equal((await store.get<Counter>('settings', 'counter'))?.n, 200)
      })

      it('sees an expired record as absent', async () => {
        await store.put('tokens', { id: 't', expires_at: clock.now() + 5 })
        clock.advance(5)
        let seen: unknown = 'not called'
        await store.update('tokens', 't', (cur) => ((seen = cur), undefined))
        assert.equal(seen, undefined)
      })
    })

    describe('list and count', () => {
      it('sorts by id in code-point order, non-ASCII included', async () => {
        for (const id of [...SORTED_IDS].reverse()) await store.put('registrations', { id })
        assert.deepEqual(ids(await store.list('registrations')), SORTED_IDS)
        assert.deepEqual(ids(await store.list('registrations', { after: 'ÿ' })), ['ﬀ', '😀'])
      })

      it('pages with after and limit', async () => {
        const all = Array.from({ length: 25 }, (_, i) => `id-${String(i).padStart(2, '0')}`)
        await Promise.all(all.map((id) => store.put('subordinates', { id })))
        const paged: string[] = []
        for (let after: string | undefined; ; ) {
          const page = await store.list('subordinates', { after, limit: 7 })
          paged.push(...ids(page))
          if (page.length < 7) break
          after = page[page.length - 1]!.id
        }
        assert.deepEqual(paged, all)
        assert.deepEqual(ids(await store.list('subordinates', { after: 'id-10x', limit: 2 })), ['id-11', 'id-12'])
        assert.deepEqual(await store.list('subordinates', { limit: 0 }), [])
        assert.deepEqual(await store.list('subordinates', { after: 'zzz' }), [])
        assert.deepEqual(await store.list('trust_marks'), [])
      })

      it('filters with where: scalars, array membership, several fields, with paging', async () => {
        const types = (i: number) => (i % 2 ? ['openid_provider', 'federation_entity'] : ['openid_relying_party'])
        for (let i = 0; i < 10; i++) {
          await store.put('subordinates', { id: `e${i}`, status: i < 8 ? 'active' : 'suspended', entity_types: types(i), n: i % 3, flag: i === 4 })
        }
        const where = async (w: Record<string, string | number | boolean>, o = {}) =>
          ids(await store.list('subordinates', { where: w, ...o }))
        assert.deepEqual(await where({ status: 'suspended' }), ['e8', 'e9'])
        assert.deepEqual(await where({ entity_types: 'openid_provider' }), ['e1', 'e3', 'e5', 'e7', 'e9'])
        assert.deepEqual(await where({ n: 0 }), ['e0', 'e3', 'e6', 'e9'])
        assert.deepEqual(await where({ flag: true }), ['e4'])
        assert.deepEqual(await where({ entity_types: 'openid_provider', status: 'active', n: 1 }), ['e1', 'e7'])
        assert.deepEqual(await where({ status: 'nope' }), [])
        assert.deepEqual(await where({ entity_types: 'openid_provider' }, { after: 'e3', limit: 2 }), ['e5', 'e7'])
        assert.equal(await store.count('subordinates'), 10)
        assert.equal(await store.count('subordinates', { entity_types: 'openid_provider' }), 5)
        assert.equal(await store.count('subordinates', { status: 'active', n: 2 }), 2)
      })

      it('finds the access token records of a grant by grantId (INDEXED_FIELDS.tokens), and none once removed', async () => {
        assert.deepEqual(INDEXED_FIELDS.tokens, ['client_id', 'sub', 'grantId'])
        for (let i = 0; i < 9; i++) {
          await store.put('tokens', { id: `t${i}`, client_id: `c${i % 2}`, ...(i % 3 ? { grantId: `g${i % 3}` } : {}) })
        }
        const where = async (w: Record<string, string>) => ids(await store.list('tokens', { where: w }))
        assert.deepEqual(await where({ grantId: 'g1' }), ['t1', 't4', 't7'])
        assert.deepEqual(await where({ grantId: 'g2', client_id: 'c0' }), ['t2', 't8'])
        assert.equal(await store.count('tokens', { grantId: 'g2' }), 3)
        for (const id of await where({ grantId: 'g1' })) assert.ok(await store.remove('tokens', id))
        assert.deepEqual(await where({ grantId: 'g1' }), [])
        assert.deepEqual(ids(await store.list('tokens')), ['t0', 't2', 't3', 't5', 't6', 't8'])
      })

      it('where on indexed fields (INDEXED_FIELDS) follows replaces, removals, expiry, types and reopen', async () => {
        assert.deepEqual(INDEXED_FIELDS.oauth, ['grantId', 'uid', 'userCode', 'clientId'])
        const t0 = clock.now()
        for (let i = 0; i < 12; i++) {
          await store.put('oauth', { id: `AccessToken:${String(i).padStart(2, '0')}`, clientId: `c${i % 3}`, grantId: `g${i % 4}` })
        }
        const where = async (w: Record<string, string | number | boolean>, o = {}) =>
          ids(await store.list('oauth', { where: w, ...o }))
        const scan = async (w: Record<string, string | number | boolean>) =>
          ids((await store.list('oauth')).filter((r) => Object.entries(w).every(([k, v]) => r[k] === v)))
        assert.deepEqual(await where({ clientId: 'c1' }), ['AccessToken:01', 'AccessToken:04', 'AccessToken:07', 'AccessToken:10'])
        assert.deepEqual(await where({ clientId: 'c1', grantId: 'g3' }), ['AccessToken:07'])
        assert.deepEqual(await where({ clientId: 'c1' }, { after: 'AccessToken:04', limit: 1 }), ['AccessToken:07'])
        assert.equal(await store.count('oauth', { grantId: 'g0' }), 3)
        // replaced: leaves the old value's bucket, joins the new one
        await store.put('oauth', { id: 'AccessToken:01', clientId: 'c2', grantId: 'g1' })
        assert.deepEqual(await where({ clientId: 'c1' }), await scan({ clientId: 'c1' }))
        assert.deepEqual(await where({ clientId: 'c2' }), ['AccessToken:01', 'AccessToken:02', 'AccessToken:05', 'AccessToken:08', 'AccessToken:11'])
        await store.update<StoredRecord>('oauth', 'AccessToken:02', (r) => (r ? { id: r.id, grantId: r['grantId'] as string } : undefined))
        assert.deepEqual(await where({ clientId: 'c2' }), await scan({ clientId: 'c2' }))
        assert.ok(await store.remove('oauth', 'AccessToken:05'))
        assert.deepEqual(await where({ clientId: 'c2' }), ['AccessToken:01', 'AccessToken:08', 'AccessToken:11'])
        // values keep their type; arrays match by element; a value nobody has matches nothing
        await store.put('oauth', { id: 'Session:a', uid: 1 })
        await store.put('oauth', { id: 'Session:b', uid: '1' })
        await store.put('oauth', { id: 'Session:c', uid: true, userCode: ['X', 'Y'] })
        await store.put('oauth', { id: 'Session:d', uid: 'true', userCode: 'Y', expires_at: t0 + 5 })
        assert.deepEqual(await where({ uid: 1 }), ['Session:a'])
        assert.deepEqual(await where({ uid: '1' }), ['Session:b'])
        assert.deepEqual(await where({ uid: true }), ['Session:c'])
        assert.deepEqual(await where({ userCode: 'Y' }), ['Session:c', 'Session:d'])
        assert.deepEqual(await where({ uid: 'none' }), [])
        assert.deepEqual(await where({ uid: 'none', clientId: 'c0' }), [])
        clock.advance(5)
        assert.deepEqual(await where({ userCode: 'Y' }), ['Session:c'])
        assert.equal(await store.count('oauth', { uid: 'true' }), 0)
        const expected = await where({ grantId: 'g1' })
        assert.deepEqual(expected, await scan({ grantId: 'g1' }))
        if (ctx.reopen) {
          await store.close()
          const again = await ctx.reopen()
          assert.deepEqual(ids(await again.list('oauth', { where: { grantId: 'g1' } })), expected)
          assert.deepEqual(ids(await again.list('oauth', { where: { userCode: 'X' } })), ['Session:c'])
          await again.put('oauth', { id: 'Session:c', uid: true })
          assert.deepEqual(ids(await again.list('oauth', { where: { userCode: 'X' } })), [])
        }
      })
      it('lists by id prefix (one range of the id order), with where, exists, after and limit', async () => {
        const all = ['https://a.example', 'https://a.example/x', 'https://ab.example', 'https://b.example', 'http://a.example', 'https://a😀.example', 'https://aé.example']
        for (const [i, id] of all.entries()) {
          await store.put('subordinates', { id, status: i % 2 ? 'suspended' : 'active', ...(i === 2 || i === 5 ? { pending_keys: { kids: ['k'] } } : {}) })
        }
        const list = async (o: Record<string, unknown>) => ids(await store.list('subordinates', o))
        assert.deepEqual(await list({ prefix: 'https://a' }), ['https://a.example', 'https://a.example/x', 'https://ab.example', 'https://aé.example', 'https://a😀.example'])
        assert.deepEqual(await list({ prefix: 'https://a.example' }), ['https://a.example', 'https://a.example/x'])
        assert.deepEqual(await list({ prefix: 'https://a😀' }), ['https://a😀.example'])
        assert.deepEqual(await list({ prefix: 'http://' }), ['http://a.example'])
        assert.deepEqual(await list({ prefix: 'https://a', limit: 2 }), ['https://a.example', 'https://a.example/x'])
        assert.deepEqual(await list({ prefix: 'https://a', after: 'https://a.example/x', limit: 2 }), ['https://ab.example', 'https://aé.example'])
        assert.deepEqual(await list({ prefix: 'https://a', after: 'https://0' }), await list({ prefix: 'https://a' }))
        assert.deepEqual(await list({ prefix: 'https://a', after: 'https://b' }), [])
        assert.deepEqual(await list({ prefix: 'https://a', where: { status: 'active' } }), ['https://a.example', 'https://ab.example', 'https://aé.example'])
        assert.deepEqual(await list({ prefix: 'https://a.example', where: { status: 'suspended' } }), ['https://a.example/x'])
        // Characters a regular expression would read are only text here.
        assert.deepEqual(await list({ prefix: 'https://a.' }), ['https://a.example', 'https://a.example/x'])
        assert.deepEqual(await list({ prefix: 'https://a.*' }), [])
        assert.deepEqual(await list({ prefix: '(' }), [])
        assert.deepEqual(await list({ prefix: 'zzz' }), [])
        assert.deepEqual(await list({ prefix: '' }), ids(await store.list('subordinates')))
        // exists: records owning the field (PRESENCE_FIELDS indexed), with paging and prefix.
        assert.deepEqual(await list({ exists: ['pending_keys'] }), ['https://ab.example', 'https://a😀.example'])
        assert.deepEqual(await list({ exists: ['pending_keys'], where: { status: 'suspended' } }), ['https://a😀.example'])
        assert.deepEqual(await list({ exists: ['pending_keys'], after: 'https://ab.example' }), ['https://a😀.example'])
        assert.deepEqual(await list({ exists: ['pending_keys'], prefix: 'https://ab' }), ['https://ab.example'])
        assert.deepEqual(await list({ exists: ['status'] }), ids(await store.list('subordinates')))
        assert.deepEqual(await list({ exists: ['nothing'] }), [])
        await store.update<StoredRecord>('subordinates', 'https://ab.example', (r) => (r ? { id: r.id, status: 'active' } : undefined))
        assert.deepEqual(await list({ exists: ['pending_keys'] }), ['https://a😀.example'])
        if (ctx.reopen) {
          await store.close()
          const again = await ctx.reopen()
          assert.deepEqual(ids(await again.list('subordinates', { exists: ['pending_keys'] })), ['https://a😀.example'])
          assert.deepEqual(ids(await again.list('subordinates', { prefix: 'https://a.' })), ['https://a.example', 'https://a.example/x'])
        }
      })
    })

    describe('expiry', () => {
      it('an expired record is absent from get, list and count, and does not block insert', async () => {
        const t0 = clock.now()
        await store.put('tokens', { id: 'a', expires_at: t0 + 10 })
        await store.put('tokens', { id: 'b' })
        assert.deepEqual(ids(await store.list('tokens')), ['a', 'b'])
        clock.advance(9)
        assert.ok(await store.get('tokens', 'a'))
        clock.advance(1) // expires_at <= now: expired
        assert.equal(await store.get('tokens', 'a'), undefined)
        assert.deepEqual(ids(await store.list('tokens')), ['b'])
        assert.equal(await store.count('tokens'), 1)
        assert.equal(await store.count('tokens', { id: 'a' }), 0)
        assert.equal(await store.remove('tokens', 'a'), false)
        await store.insert('tokens', { id: 'a', fresh: true })
        assert.deepEqual(await store.get('tokens', 'a'), { id: 'a', fresh: true })
      })
    })

    describe('claimOnce', () => {
      it('is true once per (scope, key) until the claim expires', async () => {
        const exp = clock.now() + 60
        assert.equal(await store.claimOnce('jti', 'abc', exp), true)
        assert.equal(await store.claimOnce('jti', 'abc', exp), false)
        assert.equal(await store.claimOnce('other-scope', 'abc', exp), true)
        assert.equal(await store.claimOnce('jti', 'abd', exp), true)
        clock.advance(59)
        assert.equal(await store.claimOnce('jti', 'abc', exp + 60), false)
        clock.advance(1)
        assert.equal(await store.claimOnce('jti', 'abc', exp + 60), true)
        assert.equal(await store.claimOnce('jti', 'abc', exp + 60), false)
      })

      it('of concurrent claims of one key exactly one wins', async () => {
        const exp = clock.now() + 60
        const results = await Promise.all(Array.from({ length: 25 }, () => store.claimOnce('jti', 'race', exp)))
        assert.equal(results.filter(Boolean).length, 1)
      })
    })

    describe('audit', () => {
      it('assigns increasing seq and lists oldest first after a seq', async () => {
        const a = await store.appendAudit(event('subordinate.add', 'https://a.example'))
        const b = await store.appendAudit(event('subordinate.remove', 'https://a.example'))
        const c = await store.appendAudit({ ...event('keys.rotate'), seq: 999, detail: { kid: 'k2' } })
        assert.ok(Number.isInteger(a.seq) && a.seq! > 0 && b.seq! > a.seq! && c.seq! > b.seq!)
        assert.notEqual(c.seq, 999)
        assert.deepEqual(a, { ...event('subordinate.add', 'https://a.example'), seq: a.seq })
        assert.deepEqual(await store.listAudit(), [a, b, c])
        assert.deepEqual(await store.listAudit({ after: a.seq }), [b, c])
        assert.deepEqual(await store.listAudit({ after: c.seq }), [])
        assert.deepEqual(await store.listAudit({ limit: 2 }), [a, b])
        assert.deepEqual(await store.listAudit({ action: 'keys.rotate' }), [c])
        assert.deepEqual(await store.listAudit({ subject: 'https://a.example' }), [a, b])
        assert.deepEqual(await store.listAudit({ subject: 'https://a.example', action: 'subordinate.remove' }), [b])
      })

      it('filters by actor and by a time range (since inclusive, until exclusive), with the other filters', async () => {
        const t0 = clock.now()
        const at = (s: number) => new Date((t0 + s) * 1000).toISOString()
        const appended: AuditEvent[] = []
        for (let i = 0; i < 6; i++) {
          appended.push(await store.appendAudit({ time: at(i * 10), actor: i % 2 ? 'olga' : 'admin', action: i < 3 ? 'subordinate.add' : 'subordinate.suspend', subject: `https://m${i % 3}.example`, outcome: 'success' }))
        }
        const seqs = (events: AuditEvent[]) => events.map((e) => appended.indexOf(appended.find((a) => a.seq === e.seq)!))
        assert.deepEqual(seqs(await store.listAudit({ actor: 'olga' })), [1, 3, 5])
        assert.deepEqual(seqs(await store.listAudit({ actor: 'olg' })), [])
        assert.deepEqual(seqs(await store.listAudit({ since: at(20) })), [2, 3, 4, 5])
        assert.deepEqual(seqs(await store.listAudit({ until: at(20) })), [0, 1])
        assert.deepEqual(seqs(await store.listAudit({ since: at(10), until: at(40) })), [1, 2, 3])
        assert.deepEqual(seqs(await store.listAudit({ since: at(15), until: at(15) })), [])
        assert.deepEqual(seqs(await store.listAudit({ actor: 'admin', since: at(10), action: 'subordinate.suspend' })), [4])
        assert.deepEqual(seqs(await store.listAudit({ actor: 'olga', subject: 'https://m0.example' })), [3])
        assert.deepEqual(seqs(await store.listAudit({ actor: 'olga', after: appended[1]!.seq, limit: 1 })), [3])
      })

      it('pages: limit defaults to 100 and is capped at 1000; concurrent appends get unique seq', async () => {
        const appended = await Promise.all(Array.from({ length: 1005 }, (_, i) => store.appendAudit(event(`a${i % 2}`))))
        assert.equal(new Set(appended.map((e) => e.seq)).size, 1005)
        const first = await store.listAudit()
        assert.equal(first.length, 100)
        assert.equal((await store.listAudit({ limit: 5000 })).length, 1000)
        const second = await store.listAudit({ after: first[99]!.seq })
        assert.ok(second[0]!.seq! > first[99]!.seq!)
        const seqs = (await store.listAudit({ limit: 1000, action: 'a1' })).map((e) => e.seq!)
        assert.equal(seqs.length, 502)
        assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y))
      })
    })

    describe('audit as part of the write', () => {
      const subjects = async (action?: string) =>
        (await store.listAudit({ limit: 1000, ...(action ? { action } : {}) })).map((e) => `${e.action} ${e.subject}`)

      it('records the event of each write that happens, and none for one that does not', async () => {
        const id = 'https://m.example'
        await store.insert('subordinates', { id, v: 1 }, { audit: event('subordinate.add', id) })
        await assert.rejects(store.insert('subordinates', { id, v: 2 }, { audit: event('subordinate.add', id) }), isConflict)
        await store.update('subordinates', id, (cur) => cur && { ...cur, v: 3 }, { audit: event('subordinate.update', id) })
        await store.update('subordinates', id, () => undefined, { audit: event('subordinate.suspend', id) })
        await store.update('subordinates', 'https://none.example', (cur) => cur, { audit: event('subordinate.update', 'none') })
        await store.put('subordinates', { id, v: 4 }, { audit: event('subordinate.put', id) })
        assert.equal(await store.remove('subordinates', id, { audit: event('subordinate.remove', id) }), true)
        assert.equal(await store.remove('subordinates', id, { audit: event('subordinate.remove', id) }), false)
        assert.deepEqual(await subjects(), [
          `subordinate.add ${id}`, `subordinate.update ${id}`, `subordinate.put ${id}`, `subordinate.remove ${id}`,
        ])
        assert.equal(await store.get('subordinates', id), undefined)
        // the records read back carry nothing of the event
        await store.insert('subordinates', { id, v: 5 }, { audit: event('subordinate.add', id) })
        assert.deepEqual(await store.get('subordinates', id), { id, v: 5 })
        assert.deepEqual(await store.list('subordinates'), [{ id, v: 5 }])
        const events = await store.listAudit({ action: 'subordinate.add' })
        assert.deepEqual(events.map((e) => Object.keys(e).sort()), [0, 1].map(() => ['action', 'actor', 'outcome', 'seq', 'subject', 'time']))
      })

      it('of concurrent inserts of one id, exactly one write and one event', async () => {
        const id = 'https://race.example'
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => store.insert('subordinates', { id, i }, { audit: event('subordinate.add', id) })),
        )
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
        assert.deepEqual(await subjects('subordinate.add'), [`subordinate.add ${id}`])
      })

      it('keeps seq order across plain events and events of writes, and every write of a burst has its event', async () => {
        const ids = Array.from({ length: 200 }, (_, i) => `https://m${String(i).padStart(3, '0')}.example`)
        await Promise.all(ids.map((id, i) =>
          i % 4 === 0 ? store.appendAudit(event('plain', id)) : store.put('subordinates', { id }, { audit: event('subordinate.add', id) })))
        const all = await store.listAudit({ limit: 1000 })
        assert.equal(all.length, 200)
        assert.deepEqual(all.map((e) => e.seq), [...all.map((e) => e.seq!)].sort((a, b) => a - b))
        assert.equal(new Set(all.map((e) => e.seq)).size, 200)
        const added = new Set(all.filter((e) => e.action === 'subordinate.add').map((e) => e.subject))
        assert.deepEqual([...added].sort(), ids.filter((_, i) => i % 4 !== 0))
        assert.equal(await store.count('subordinates'), 150)
      })

      it('refuses an event without time, actor or action, and writes nothing', async () => {
        const bad = { actor: 'a', action: 'x', outcome: 'success' } as unknown as AuditEvent
        await assert.rejects(store.put('keys', { id: 'k' }, { audit: bad }), TypeError)
        assert.equal(await store.get('keys', 'k'), undefined)
        assert.deepEqual(await store.listAudit(), [])
      })
    })

    describe('audit retention', () => {
      it('prunes the events older than a time, keeps the rest, and never reuses a seq', async () => {
        const old = await Promise.all([1, 2, 3].map((i) => store.appendAudit(event(`old${i}`))))
        await store.put('subordinates', { id: 'https://old.example' }, { audit: event('subordinate.add', 'https://old.example') })
        clock.advance(400 * 86_400)
        const cutoff = clock.now() - 365 * 86_400
        const kept = await store.appendAudit(event('new'))
        assert.equal(await store.pruneAudit(cutoff), 4)
        assert.deepEqual(await store.listAudit(), [kept])
        assert.equal(await store.pruneAudit(cutoff), 0)
        const next = await store.appendAudit(event('after'))
        assert.ok(next.seq! > kept.seq! && next.seq! > old[2]!.seq!)
        // the member written with the pruned event is still there: retention drops events only
        assert.ok(await store.get('subordinates', 'https://old.example'))
        if (ctx.reopen) {
          await store.close()
          store = await ctx.reopen()
          assert.deepEqual((await store.listAudit()).map((e) => e.action), ['new', 'after'])
          assert.ok((await store.appendAudit(event('reopened'))).seq! > next.seq!)
        }
      })
    })

    describe('onChange', () => {
      it('reports each write once it is visible, until unsubscribed', async () => {
        const seen: Array<{ collection: string; id?: string; visible?: boolean }> = []
        const reads: Promise<void>[] = []
        const off = store.onChange((change) => {
          const entry: (typeof seen)[number] = { ...change }
          seen.push(entry)
          if (change.id !== undefined) {
            reads.push(store.get(change.collection, change.id).then((r) => void (entry.visible = r !== undefined)))
          }
        })
        await store.put('keys', { id: 'k1' })
        await store.insert('subordinates', { id: 's1' })
        await store.update('settings', 'x', () => ({ id: 'x' }))
        await store.remove('keys', 'k1')
        await tick()
        await Promise.all(reads)
        const has = (collection: string, id: string) => seen.some((c) => c.collection === collection && c.id === id)
        assert.ok(has('keys', 'k1') && has('subordinates', 's1') && has('settings', 'x'), JSON.stringify(seen))
        assert.ok(seen.find((c) => c.collection === 'subordinates')!.visible, 'the write is visible to a listener')
        off()
        const before = seen.length
        await store.put('keys', { id: 'k2' })
        await tick()
        assert.equal(seen.length, before)
      })
    })

    describe('dump and load', () => {
      async function populate(): Promise<void> {
        const now = clock.now()
        await store.put('subordinates', { id: 'https://b.example', entity_types: ['openid_provider'] })
        await store.put('subordinates', { id: 'https://a.example', n: 1 })
        await store.put('subordinates', { id: 'https://é.example' })
        await store.put('keys', { id: 'k2', kty: 'EC' })
        await store.put('keys', { id: 'k1', kty: 'RSA' })
        await store.put('settings', { id: 'authority', x: { y: [1, 2] } })
        await store.put('tokens', { id: 'expired', expires_at: now + 1 })
        await store.put('tokens', { id: 'live', expires_at: now + 3600 })
        await store.appendAudit(event('one', 's'))
        await store.appendAudit(event('two'))
        await store.claimOnce('jti', 'b', now + 100)
        await store.claimOnce('jti', 'a', now + 100)
        await store.claimOnce('aud', 'z', now + 100)
        await store.claimOnce('jti', 'gone', now + 1)
        clock.advance(1)
      }

      it('dumps in a deterministic order and round-trips byte for byte', async () => {
        await populate()
        const dump = await collect(store.dump())
        const kinds = dump.map((d) => d.type)
        assert.deepEqual(kinds, [...Array(7).fill('record'), 'audit', 'audit', 'claim', 'claim', 'claim'])
        const recs = dump.flatMap((d) => (d.type === 'record' ? [`${d.collection} ${d.record.id}`] : []))
        assert.deepEqual(recs, [
          'subordinates https://a.example',
          'subordinates https://b.example',
          'subordinates https://é.example',
          'keys k1',
          'keys k2',
          'settings authority',
          'tokens live',
        ])
        const claims = dump.flatMap((d) => (d.type === 'claim' ? [`${d.scope} ${d.key}`] : []))
        assert.deepEqual(claims, ['aud z', 'jti a', 'jti b'])

        const other = await factory()
        others.push(other)
        other.clock.set(clock.now())
        await other.store.load(from(dump))
        const again = await collect(other.store.dump())
        assert.equal(again.map((d) => JSON.stringify(d)).join('\n'), dump.map((d) => JSON.stringify(d)).join('\n'))
        // loaded claims and audit seq are live
        assert.equal(await other.store.claimOnce('jti', 'a', clock.now() + 100), false)
        const lastSeq = Math.max(...dump.flatMap((d) => (d.type === 'audit' ? [d.event.seq!] : [])))
        assert.ok((await other.store.appendAudit(event('three'))).seq! > lastSeq)
        assert.deepEqual(await other.store.get('subordinates', 'https://a.example'), { id: 'https://a.example', n: 1 })
      })

      it('load refuses a store that is not empty', async () => {
        await store.put('keys', { id: 'k1' })
        const item: DumpRecord = { type: 'record', collection: 'keys', record: { id: 'k2' } }
        await assert.rejects(store.load(from([item])), isConflict)
      })
    })

    describe('persistence', () => {
      it('keeps everything across close and reopen', async function () {
        if (!ctx.reopen) return this.skip()
        const now = clock.now()
        await store.put('subordinates', { id: 'https://a.example', v: 1 })
        await store.put('subordinates', { id: 'https://b.example' })
        await store.update<Counter>('settings', 'c', () => ({ id: 'c', n: 7 }))
        await store.remove('subordinates', 'https://b.example')
        await store.put('tokens', { id: 'short', expires_at: now + 5 })
        const audit = await store.appendAudit(event('before-restart'))
        await store.claimOnce('jti', 'x', now + 100)
        const before = await collect(store.dump())
        await store.close()
        store = await ctx.reopen()
        assert.equal(await store.ready(), true)
        assert.deepEqual(await collect(store.dump()), before)
        assert.deepEqual(await store.listAudit(), [audit])
        assert.ok((await store.appendAudit(event('after-restart'))).seq! > audit.seq!)
        assert.equal(await store.claimOnce('jti', 'x', now + 100), false)
        clock.advance(5)
        assert.equal(await store.get('tokens', 'short'), undefined)
        assert.deepEqual(ids(await store.list('subordinates')), ['https://a.example'])
      })
    })
  })
}
