/** Runs wrk (when installed) for GET throughput; a Lua script can vary the path per request. */
import { execFile } from 'node:child_process'
import { writeFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { LoadResult } from './load.js'

const run = promisify(execFile)

export async function hasWrk(): Promise<boolean> {
  return run('wrk', ['--version']).then(() => true, (e: { stdout?: string }) => Boolean(e.stdout?.includes('wrk')))
}

function ms(v: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v ?? '')
  if (!m) return 0
  const n = Number(m[1])
  return Math.round((m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n) * 100) / 100
}

/** GET throughput with one wrk thread; `paths` (optional) are cycled through by a Lua script. */
export async function wrk(base: string, o: { path?: string; paths?: string[]; connections?: number; seconds?: number }): Promise<LoadResult> {
  const args = ['-t1', `-c${o.connections ?? 32}`, `-d${o.seconds ?? 5}s`, '--latency']
  if (o.paths) {
    const dir = await mkdtemp(join(tmpdir(), 'wrk-'))
    const script = join(dir, 'paths.lua')
    await writeFile(script, `local paths = {${o.paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`)
    args.push('-s', script)
  }
  const { stdout } = await run('wrk', [...args, base + (o.path ?? '/')], { maxBuffer: 1 << 20 })
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  const seconds = o.seconds ?? 5
  return { requests, errors, seconds, rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)), p50_ms: ms(/ 50%\s+(\S+)/.exec(stdout)?.[1]), p99_ms: ms(/ 99%\s+(\S+)/.exec(stdout)?.[1]) }
}
