/**
 * `npm run bench`: every benchmark, one after another, on this machine; prints each
 * result as JSON and writes them all to bench/results/latest.json. Loopback only,
 * bounded in time. `npm run bench -- --quick` uses smaller sizes; `--only NAME[,NAME]`
 * picks benchmarks (policy, storage, foundation, observability, onboarding, members, foundation-mongodb, resolve, trust-marks,
 * registration, hostile).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpus } from 'node:os'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : undefined
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
}

async function step(name: string, run: () => Promise<unknown>): Promise<void> {
  if (only && !only.has(name)) return
  const t0 = Date.now()
  process.stderr.write(`== ${name} ...\n`)
  try {
    results[name] = await run()
  } catch (err) {
    results[name] = { error: (err as Error).message }
  }
  console.log(JSON.stringify({ [name]: results[name] }, null, 2))
  process.stderr.write(`== ${name} done in ${Math.round((Date.now() - t0) / 1000)} s\n`)
}

const sizes = quick ? [10_000] : [10_000, 100_000]

await step('policy', async () => {
  const { benchPolicy, benchEs256Verify } = await import('./policy.js')
  return { policy: await benchPolicy(), es256_verify: await benchEs256Verify() }
})
await step('storage', async () => (await import('./storage.js')).benchEmbeddedStore(quick ? 10_000 : 100_000))
await step('foundation', async () => {
  const { benchFoundation } = await import('./foundation.js')
  const out: unknown[] = []
  for (const n of sizes) out.push(await benchFoundation(n))
  return out
})
await step('observability', async () => (await import('./foundation.js')).benchObservability(quick ? { rounds: 1, seconds: 3 } : {}))
await step('onboarding', async () => {
  const { benchOnboarding } = await import('./onboarding.js')
  return benchOnboarding(quick ? 10_000 : 20_000)
})
await step('members', async () => (await import('./members.js')).benchMembers(quick ? 10_000 : 100_000, quick ? { requests: 50 } : {}))
await step('foundation-mongodb', async () => {
  const { benchFoundation } = await import('./foundation.js')
  const { mongoUriForTests } = await import('../test/support/mongo_server.js')
  const db = await mongoUriForTests()
  if (!db) return { skipped: 'no MongoDB server (set MONGODB_URI, or install Java 17 and Maven)' }
  try {
    return await benchFoundation(10_000, { store: db.uri })
  } finally {
    await db.stop()
  }
})
await step('resolve', async () => (await import('./resolve.js')).benchResolve())
await step('registration', async () => (await import('./registration.js')).benchRegistration(quick ? { agents: 30, tokens: 300, seconds: 2, rps: 4 } : {}))
await step('trust-marks', async () => (await import('./trust_marks.js')).benchTrustMarks())
await step('hostile', async () => (await import('./hostile.js')).benchHostile())

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results')
await mkdir(dir, { recursive: true })
await writeFile(join(dir, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
process.stderr.write(`results written to ${join(dir, 'latest.json')}\n`)
process.exit(0)
