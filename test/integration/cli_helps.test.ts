/**
 * A CLI that helps (issue 18): typo suggestions for commands, actions and options; unknown
 * entity types refused with the known ones; a server that is not running named as such; no
 * crash when the reader closes the pipe; `--help` loads no command module; bash and zsh
 * completion scripts that complete commands, actions, options and directories.
 */
import { strict as assert } from 'node:assert'
import { spawn, execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cli, ROOT } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { closest, distance } from '../../src/suggest.js'

const run = promisify(execFile)

describe('a CLI that helps', function () {
  this.timeout(60_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-cli-helps-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('suggests the closest word only when it is close', () => {
    assert.equal(distance('lsit', 'list'), 1)
    assert.equal(closest('inti', ['init', 'serve']), 'init')
    assert.equal(closest('entity-typ', ['entity-type', 'entity-id']), 'entity-type')
    assert.equal(closest('frobnicate', ['init', 'serve', 'subordinate']), undefined)
    assert.equal(closest('x'.repeat(100), ['x'.repeat(99)]), undefined)
  })

  it('suggests commands, actions and options, exit code 2, before reading any deployment', async () => {
    const cmd = await cli(['subordnate', 'list'])
    assert.equal(cmd.code, 2)
    assert.match(cmd.stderr, /unknown command "subordnate" \(did you mean subordinate\?\)/)
    // No deployment in the current directory: the action is refused before the admin API is looked for.
    const action = await cli(['keys', 'stgae', '--dir', join(tmp, 'none')])
    assert.equal(action.code, 2)
    assert.match(action.stderr, /keys: unknown action "stgae" \(did you mean stage\?\) \(list, stage, activate, rotate, retire, encrypt;/)
    const option = await cli(['subordinate', 'add', 'https://rp.example.org', '--entity-typ', 'openid_relying_party'])
    assert.equal(option.code, 2)
    assert.match(option.stderr, /unknown option --entity-typ \(did you mean --entity-type\?\)/)
    const far = await cli(['init', '--bogus'])
    assert.equal(far.code, 2)
    assert.match(far.stderr, /^anchorage: unknown option --bogus\n$/)
  })

  it('refuses an unknown entity type with the known ones listed', async () => {
    const r = await cli(['subordinate', 'add', 'https://rp.example.org', '--entity-type', 'openid_relying_partie', '--dir', join(tmp, 'none')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--entity-type: unknown entity type "openid_relying_partie" \(did you mean openid_relying_party\?\); the entity types are federation_entity, openid_relying_party, openid_provider, oauth_authorization_server, oauth_client, oauth_resource/)
    const resolve = await cli(['resolve', 'https://rp.example.org', '--trust-anchor', 'https://ta.example.org', '--entity-type', 'wallet'])
    assert.equal(resolve.code, 2)
    assert.match(resolve.stderr, /unknown entity type "wallet"; the entity types are federation_entity,/)
  })

  it('says the server is not running, and how to start it, instead of ECONNREFUSED', async () => {
    const dir = join(tmp, 'stopped')
    const port = await freePort()
    assert.equal((await cli(['init', '--dir', dir, '--entity-id', 'https://ta.example.org', '--admin-listen', `127.0.0.1:${port}`])).code, 0)
    const r = await cli(['subordinate', 'list', '--dir', dir])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `anchorage: cannot reach the server at http://127.0.0.1:${port} (connection refused) — is it running? Start it with \`anchorage serve --dir ${dir}\`\n`)
  })

  it('stops quietly when the reader closes the pipe (| head)', async () => {
    // Thousands of lines, far more than a pipe holds: the reader takes one chunk and closes.
    const cases = join(tmp, 'cases.json')
    await writeFile(cases, JSON.stringify(Array.from({ length: 4000 }, () => ({ policies: [{ scope: { subset_of: ['a', 'b'] } }], metadata: { scope: 'a c' } }))))
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'run.ts'), 'policy', 'resolve', '--input', cases], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    assert.equal(stderr, '')
    assert.equal(code, 0)
  })

  it('--help loads no command module and no dependency (it answers at once)', async () => {
    // A loader hook records every module loaded from the checkout while `anchorage --help` runs.
    const hook = join(tmp, 'record.mjs')
    await writeFile(hook, `
      import { register } from 'node:module'
      import { MessageChannel } from 'node:worker_threads'
      const { port1, port2 } = new MessageChannel()
      const seen = []
      port1.on('message', (u) => seen.push(u))
      port1.unref()
      register('data:text/javascript,' + encodeURIComponent(\`
        let port
        export function initialize(d) { port = d.port }
        export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r }
      \`), { data: { port: port2 }, transferList: [port2] })
      process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(seen) + '\\n'))
    `)
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--import', hook, join(ROOT, 'src', 'cli', 'run.ts'), '--help'], { cwd: ROOT })
    assert.match(stdout, /^Usage: anchorage <command>/)
    const loaded = (JSON.parse(/LOADED (.*)/.exec(stderr)![1]!) as string[]).filter((u) => u.startsWith('file:') && u.includes(ROOT.replace(/\\/g, '/')))
    const ours = loaded.filter((u) => !u.includes('/node_modules/')).map((u) => u.slice(u.indexOf('/src/') + 1)).sort()
    assert.deepEqual([...new Set(ours)], ['src/cli/args.ts', 'src/cli/frozen.ts', 'src/cli/harden.ts', 'src/cli/main.ts', 'src/cli/run.ts', 'src/constants.ts', 'src/suggest.ts'])
    assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/') && !u.includes('/node_modules/tsx/')), [])
  })

  describe('completion', () => {
    let bash: string
    let zsh: string
    before(async () => {
      const b = await cli(['completion', 'bash'])
      assert.equal(b.code, 0, b.stderr)
      bash = join(tmp, 'anchorage.bash')
      await writeFile(bash, b.stdout)
      const z = await cli(['completion', 'zsh'])
      assert.equal(z.code, 0, z.stderr)
      zsh = join(tmp, '_anchorage')
      await writeFile(zsh, z.stdout)
      await mkdir(join(tmp, 'deploy-a'), { recursive: true })
      await mkdir(join(tmp, 'deploy-b'), { recursive: true })
    })

    /** What bash completes for the words, the last one being completed. */
    async function bashComplete(...words: string[]): Promise<string[]> {
      const script = `source ${JSON.stringify(bash)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _anchorage; printf '%s\\n' "\${COMPREPLY[@]}"`
      const { stdout } = await run('bash', ['-c', script], { cwd: tmp })
      return stdout.split('\n').filter(Boolean).sort()
    }

    it('bash: commands, actions, options and directories', async () => {
      assert.deepEqual(await bashComplete('anchorage', 'su'), ['subordinate'])
      assert.deepEqual(await bashComplete('anchorage', 'operators', 'e'), ['enable'])
      assert.deepEqual(await bashComplete('anchorage', 'subordinate', 'add', 'https://rp.example.org', '--entity-t'), ['--entity-type'])
      assert.deepEqual(await bashComplete('anchorage', 'keys', 'list', '--pur'), ['--purpose'])
      assert.deepEqual(await bashComplete('anchorage', 'serve', '--dir', 'deploy-'), ['deploy-a', 'deploy-b'])
      // Only options the command has.
      assert.deepEqual(await bashComplete('anchorage', 'audit', '--entity'), [])
    })

    it('zsh: the same words through compadd (skipped where zsh is not installed)', async function () {
      try {
        await run('zsh', ['--version'])
      } catch {
        this.skip()
      }
      await run('zsh', ['-n', zsh])
      const complete = async (current: number, ...words: string[]) => {
        const script = `compadd() { if [[ $1 == -a ]]; then print -l -- \${(P)2}; else [[ $1 == -- ]] && shift; print -l -- "$@"; fi }
          _files() { print -- "FILES $*" }
          compdef() { : }
          source ${JSON.stringify(zsh)}
          words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${current}; _anchorage`
        const { stdout } = await run('zsh', ['-f', '-c', script], { cwd: tmp })
        return stdout.split('\n').filter(Boolean)
      }
      assert.ok((await complete(2, 'anchorage', 'su')).includes('subordinate'))
      assert.deepEqual(await complete(3, 'anchorage', 'operators', 'e'), ['add', 'list', 'show', 'disable', 'enable', 'rotate'])
      assert.ok((await complete(4, 'anchorage', 'keys', 'list', '--pur')).includes('--purpose'))
      assert.deepEqual(await complete(4, 'anchorage', 'serve', '--dir', ''), ['FILES -/'])
    })
  })
})
