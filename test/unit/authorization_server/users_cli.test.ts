/** `anchorage users add|list` and the users file it writes, read back by Accounts (real scrypt, real files). */
import { strict as assert } from 'node:assert'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../../src/cli/main.js'
import type { IO } from '../../../src/cli/args.js'
import { readUsersFile } from '../../../src/config/files.js'
import { Accounts, parseUsersFile } from '../../../src/authorization_server/accounts.js'
import { AuditLog } from '../../../src/audit/audit.js'
import { createEmbeddedStore } from '../../../src/storage/embedded.js'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { DEFAULTS } from '../../../src/config/defaults.js'

function io(stdin = ''): IO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readFile: async (p) => (p === '-' ? stdin : readFile(p, 'utf8')), env: {} }
}

describe('anchorage users', function () {
  this.timeout(20_000)
  let dir: string
  let file: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-users-'))
    file = join(dir, 'users.json')
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('adds users with scrypt hashes (a salt each), keeps the others, and Accounts signs them in', async () => {
    const a = io('s3cret pass\nignored second line\n')
    assert.equal(await main(['users', 'add', 'alice', '--file', file, '--password-stdin', '--email', 'alice@example.org', '--name', 'Alice'], a), 0, a.err.join('\n'))
    const b = io()
    assert.equal(await main(['users', 'add', 'bob', '--file', file, '--sub', 'bob-1'], b), 0, b.err.join('\n'))
    const generated = /password \(shown once\): (\S+)$/.exec(b.out[0]!)![1]!
    const text = await readFile(file, 'utf8')
    assert.ok(!text.includes('s3cret') && !text.includes(generated), 'no password in the file')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const users = parseUsersFile(readUsersFile(file))
    assert.deepEqual([...users.keys()], ['alice', 'bob'])
    assert.notEqual(users.get('alice')!.password.split('$')[3], users.get('bob')!.password.split('$')[3], 'salts differ')
    assert.deepEqual({ ...users.get('alice')!.claims }, { name: 'Alice', email: 'alice@example.org', email_verified: true })

    const clock = new ManualClock()
    const store = createEmbeddedStore({ dir: join(dir, 'data'), clock, logger: silentLogger, fsync: false })
    await store.open()
    try {
      const accounts = new Accounts({ store, clock, audit: new AuditLog(store, clock, silentLogger), config: { ...DEFAULTS.authorization_server, enabled: true, resources: [] }, usersFile: readUsersFile(file) })
      assert.deepEqual(await accounts.login('alice', 's3cret pass'), { ok: true, sub: 'alice' })
      assert.deepEqual(await accounts.login('bob', generated), { ok: true, sub: 'bob-1' })
      assert.deepEqual(await accounts.login('alice', 'ignored second line'), { ok: false, reason: 'invalid_credentials' })
      const account = await accounts.findAccount(undefined, 'alice')
      assert.deepEqual(await account!.claims('id_token', 'openid email'), { sub: 'alice', email: 'alice@example.org', email_verified: true })
      assert.deepEqual(await account!.claims('id_token', 'openid'), { sub: 'alice' })
      assert.equal(await accounts.findAccount(undefined, 'nobody'), undefined)
    } finally {
      await store.close()
    }
    const l = io()
    assert.equal(await main(['users', 'list', '--file', file], l), 0)
    assert.deepEqual(l.out, ['alice', 'bob\tsub=bob-1'])
  })

  // In-process, main's UsageError check may see another instance of the class (exit 1, not 2): the messages are what is checked.
  it('refuses a bad user name, a taken subject, and a users file it cannot read as one', async () => {
    const bad = io('pw\n')
    assert.notEqual(await main(['users', 'add', 'has:colon', '--file', file, '--password-stdin'], bad), 0)
    assert.match(bad.err[0]!, /user name/)
    const taken = io('pw\n')
    assert.notEqual(await main(['users', 'add', 'carol', '--file', file, '--password-stdin', '--sub', 'bob-1'], taken), 0)
    assert.match(taken.err[0]!, /already bob's/)
    const broken = join(dir, 'broken.json')
    await writeFile(broken, JSON.stringify({ users: { eve: { password: 'plain text' } } }))
    const e = io('pw\n')
    assert.notEqual(await main(['users', 'add', 'x', '--file', broken, '--password-stdin'], e), 0)
    assert.match(e.err[0]!, /scrypt hash/)
    // A user named __proto__ is read as an own member (no prototype change), and refused like any other bad entry.
    await writeFile(broken, '{"users": {"__proto__": {"password": "x"}}}')
    assert.throws(() => parseUsersFile(readUsersFile(broken)), /__proto__: password must be a scrypt hash/)
    assert.equal(({} as Record<string, unknown>).password, undefined)
  })
})
