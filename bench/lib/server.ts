/** Starts a real `anchorage serve` child process on a fresh deployment for benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
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


export async function startBenchServer(o: { store?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'anchorage-bench-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const r = await initDeployment({ dir, entityId: url, development: true })
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), 'serve', '--dir', dir, '--port', String(port), '--host', '127.0.0.1', '--allow-http', '--allow-private-network', ...(o.store ? ['--store', o.store] : [])], {
    env: { ...process.env, ANCHORAGE_LOG_LEVEL: 'error', ...o.env },
    stdio: ['ignore', 'pipe', 'inherit'],
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
