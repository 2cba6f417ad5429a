/** Starts a real `anchorage serve` child process on a fresh deployment for benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../src/demo/leaf.js'
import { initDeployment } from '../../src/cli/init.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface BenchServer {
  url: string
  pid: number
  token: string
  child: ChildProcess
  stop(): Promise<void>
}


/**
 * `config`: members merged into the deployment's anchorage.json; `stderr`: where the server's
 * logs go ('ignore': /dev/null, still written); `root`: another checkout's sources to run
 * (a baseline), with this checkout's init.
 */
export async function startBenchServer(o: { store?: string; env?: NodeJS.ProcessEnv; config?: Record<string, unknown>; stderr?: 'inherit' | 'ignore'; root?: string } = {}): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'anchorage-bench-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const r = await initDeployment({ dir, entityId: url, development: true })
  if (o.config) {
    const file = join(dir, 'anchorage.json')
    await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>), ...o.config }, null, 2))
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join(o.root ?? ROOT, 'src/cli/run.ts'), 'serve', '--dir', dir, '--port', String(port), '--host', '127.0.0.1', '--allow-http', '--allow-private-network', ...(o.store ? ['--store', o.store] : [])], {
    env: { ...process.env, ANCHORAGE_LOG_LEVEL: 'error', ...o.env },
    stdio: ['ignore', 'pipe', o.stderr ?? 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('listening on')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`bench server exited ${code}: ${out}`)))
  })
  return {
    url, pid: child.pid!, token: r.adminToken, child,
    async stop() {
      await new Promise<void>((res) => {
        child.once('exit', () => res())
        child.kill('SIGTERM')
      })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
