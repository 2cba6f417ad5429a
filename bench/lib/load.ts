/**
 * A small keep-alive HTTP load generator: bounded in requests and time, loopback only.
 * Reports throughput and latency percentiles.
 */
import http from 'node:http'

export interface LoadResult {
  requests: number
  errors: number
  seconds: number
  rps: number
  p50_ms: number
  p99_ms: number
}

export async function load(o: {
  url: (i: number) => string
  connections: number
  durationMs: number
  maxRequests?: number
  method?: string
  body?: (i: number) => string
  headers?: Record<string, string>
  expectStatus?: number
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections })
  const latencies: number[] = []
  let errors = 0
  let issued = 0
  const max = o.maxRequests ?? Number.MAX_SAFE_INTEGER
  const start = performance.now()
  const deadline = start + o.durationMs
  const one = (i: number) => new Promise<void>((resolve) => {
    const t0 = performance.now()
    const body = o.body?.(i)
    const req = http.request(o.url(i), { agent, method: o.method ?? 'GET', headers: { ...o.headers, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode !== (o.expectStatus ?? 200)) errors++
        latencies.push(performance.now() - t0)
        resolve()
      })
    })
    req.on('error', () => {
      errors++
      resolve()
    })
    req.end(body)
  })
  const worker = async () => {
    while (performance.now() < deadline && issued < max) await one(issued++)
  }
  await Promise.all(Array.from({ length: o.connections }, worker))
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0)
  return { requests: latencies.length, errors, seconds: round(seconds), rps: Math.round(latencies.length / seconds), p50_ms: pct(0.5), p99_ms: pct(0.99) }
}

export const round = (n: number) => Math.round(n * 100) / 100

/** Resident set size of a process, in MiB (Linux /proc). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return round(kb / 1024)
}
