/**
 * A MongoDB-compatible server for tests: mongo-java-server (test/mongo-server/) started
 * as a child process on 127.0.0.1. No mongod exists on the developers' machines or in CI.
 *
 * startMongoServer() starts one server (memory backend, or H2 when given a file so data
 * survives a restart). mongoUriForTests() hands each caller its own database: on the
 * server named by MONGODB_URI when set, else on one shared mongo-java-server per process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const SERVER_DIR = fileURLToPath(new URL('../mongo-server/', import.meta.url))
const CLASSPATH_FILE = path.join(SERVER_DIR, 'classpath')
const LAUNCHER = path.join(SERVER_DIR, 'Launcher.java')
const READY_TIMEOUT_MS = 60_000

export interface MongoServerHandle {
  /** mongodb://127.0.0.1:PORT/ (no database: callers pick one). */
  uri: string
  port: number
  pid: number
  /** SIGTERM: the server closes its connections and (H2) its file, then exits. */
  stop(): Promise<void>
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>
}

/** Thrown when the server cannot be had on this machine at all (no java or mvn, no dependencies). */
export class MongoServerUnavailable extends Error {
  override name = 'MongoServerUnavailable'
}

// Every child still alive when the test process exits is killed, so an aborted run leaves no JVMs.
const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

let classpathPromise: Promise<string> | undefined

/** The Maven-resolved classpath, built once (mvn runs only when the cached file is missing or stale). */
export function mongoServerClasspath(): Promise<string> {
  classpathPromise ??= buildClasspath().catch((err: unknown) => {
    classpathPromise = undefined // a later call may try again
    throw err
  })
  return classpathPromise
}

function readClasspath(): string | undefined {
  if (!existsSync(CLASSPATH_FILE)) return undefined
  const cp = readFileSync(CLASSPATH_FILE, 'utf8').trim()
  // A classpath whose jars have gone (a fresh ~/.m2) is as good as none.
  if (cp === '' || !cp.split(path.delimiter).every((jar) => existsSync(jar))) return undefined
  return cp
}

async function buildClasspath(): Promise<string> {
  const cached = readClasspath()
  if (cached !== undefined) return cached
  // Written under a private name and renamed, so parallel test processes never read half a file.
  // A relative outputFile is resolved by the plugin against the pom's directory.
  const tmp = `classpath.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const { code, stderr, stdout } = await run('mvn', ['-q', '-B', '-f', path.join(SERVER_DIR, 'pom.xml'),
    'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`], SERVER_DIR)
  const tmpPath = path.join(SERVER_DIR, tmp)
  if (code !== 0 || !existsSync(tmpPath)) {
    rmSync(tmpPath, { force: true })
    throw new MongoServerUnavailable(`mvn could not resolve the mongo-java-server classpath (exit ${code}): ${lastLines(stdout + stderr)}`)
  }
  renameSync(tmpPath, CLASSPATH_FILE)
  const cp = readClasspath()
  if (cp === undefined) throw new MongoServerUnavailable(`mvn wrote an unusable classpath to ${CLASSPATH_FILE}`)
  return cp
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new MongoServerUnavailable(`${cmd} is not installed (not on PATH)`) : err))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const lastLines = (text: string, n = 15) => text.trim().split('\n').slice(-n).join('\n')

/**
 * Starts mongo-java-server on 127.0.0.1. Without `port` the server binds port 0 and reports
 * the port the OS chose (no window in which another process can take a port we probed).
 */
export async function startMongoServer(opts: { h2File?: string; port?: number } = {}): Promise<MongoServerHandle> {
  const classpath = await mongoServerClasspath()
  const args = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xmx512m', '-cp', classpath, LAUNCHER, String(opts.port ?? 0)]
  if (opts.h2File !== undefined) args.push(opts.h2File)
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    live.delete(child)
    resolve()
  }))

  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000)
  })

  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`mongo-java-server did not start: ${why}\n--- its stderr ---\n${lastLines(stderr, 40)}`))
    }
    const timer = setTimeout(() => fail(`no READY line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS)
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(err.code === 'ENOENT' ? new MongoServerUnavailable('java is not installed (not on PATH)') : err)
    })
    child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal}) before READY`))
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      const m = /^READY (\d+)$/m.exec(stdout)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
  })

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    pid: child.pid!,
    stop: () => signalAndWait('SIGTERM', 10_000),
    kill: () => signalAndWait('SIGKILL', 10_000),
  }
}

/** `mongodb://h1,h2/old?x=1` + db -> `mongodb://h1,h2/db?x=1` (hosts never contain '/'). */
export function withDatabase(uri: string, dbName: string): string {
  const q = uri.indexOf('?')
  const base = q < 0 ? uri : uri.slice(0, q)
  const query = q < 0 ? '' : uri.slice(q)
  const hostsStart = base.indexOf('://') + 3
  const slash = base.indexOf('/', hostsStart)
  const hosts = slash < 0 ? base : base.slice(0, slash)
  return `${hosts}/${encodeURIComponent(dbName)}${query}`
}

let shared: Promise<MongoServerHandle> | undefined
let warned = false

/**
 * A fresh database for one test: `uri` names it (and `dbName` repeats it). `stop()` drops it.
 * Returns undefined when no server can be had here (no java/mvn) — except in CI
 * (CI=true), where that throws: a missing server must fail the run, never skip tests.
 */
export async function mongoUriForTests(): Promise<{ uri: string; dbName: string; stop(): Promise<void> } | undefined> {
  const dbName = `anchorage_test_${process.pid}_${randomBytes(6).toString('hex')}`
  let base = process.env['MONGODB_URI']
  if (base === undefined || base === '') {
    try {
      shared ??= startMongoServer().catch((err: unknown) => {
        shared = undefined
        throw err
      })
      base = (await shared).uri
    } catch (err) {
      if (!(err instanceof MongoServerUnavailable) || process.env['CI'] === 'true') throw err
      if (!warned) console.warn(`[mongo tests] no MongoDB server available, skipping: ${err.message}`)
      warned = true
      return undefined
    }
  }
  const uri = withDatabase(base, dbName)
  return { uri, dbName, stop: () => dropDatabase(uri, dbName) }
}

async function dropDatabase(uri: string, dbName: string): Promise<void> {
  // Imported lazily so test files that never use MongoDB do not load the driver.
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 })
  try {
    await client.db(dbName).dropDatabase()
  } catch {
    // best effort: a server that has gone away (a test stopped it) has nothing left to drop
  } finally {
    await client.close()
  }
}
