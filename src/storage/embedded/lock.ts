/**
 * DIR/LOCK: one process per data directory. Two processes appending to one journal
 * would interleave lines and each replay only its own view of the data.
 */
import { open, readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { removeIfExists, writeAll } from './files.js'

/**
 * Directories locked by this process. Process-wide on purpose: a lock is a fact about
 * the process, and this is how a LOCK holding our own PID is told apart from one left by
 * an earlier process that happened to get the same PID (containers: always PID 1).
 */
const heldLocks = new Set<string>()

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes DIR/LOCK (created with O_EXCL, holding our PID). A lock whose process is gone is
 * stale and taken over. Two processes taking over the same stale lock at the very same
 * moment could both succeed; that needs a crash followed by a double start, and the
 * alternative (flock) is not available from Node without a native module.
 */
export async function acquireLock(dir: string, path: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      try {
        await writeAll(fh, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n')
        await fh.sync()
      } finally {
        await fh.close()
      }
      heldLocks.add(dir)
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readLockHolder(path)
    if (holder.pid === undefined && (await lockAgeMs(path)) < 10_000) {
      // Unreadable and fresh: another process is between creating and writing it.
      throw new Error(`embedded store ${dir} is being opened by another process (lock file ${path})`)
    }
    const ours = holder.pid === process.pid && heldLocks.has(dir)
    if (holder.pid !== undefined && (ours || (holder.pid !== process.pid && pidAlive(holder.pid)))) {
      throw new Error(
        `embedded store ${dir} is in use by ${ours ? 'this process' : `process ${holder.pid}`}` +
          `${holder.host ? ` on ${holder.host}` : ''} (lock file ${path}); only one process may open it. ` +
          `If that process is gone, delete the lock file.`,
      )
    }
    // Stale: its process is dead, or it is old and unreadable (crash while being written).
    await removeIfExists(path)
  }
  throw new Error(`embedded store ${dir}: could not take the lock file ${path}`)
}

async function lockAgeMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs
  } catch {
    return Infinity
  }
}

async function readLockHolder(path: string): Promise<{ pid?: number; host?: string }> {
  try {
    const text = (await readFile(path, 'utf8')).trim()
    const parsed: unknown = text.startsWith('{') ? JSON.parse(text) : { pid: Number(text) }
    const { pid, host } = parsed as { pid?: unknown; host?: unknown }
    return {
      pid: Number.isSafeInteger(pid) && (pid as number) > 0 ? (pid as number) : undefined,
      host: typeof host === 'string' ? host : undefined,
    }
  } catch {
    return {}
  }
}

export async function releaseLock(dir: string, path: string): Promise<void> {
  if (!heldLocks.delete(dir)) return
  const holder = await readLockHolder(path)
  if (holder.pid === process.pid) await removeIfExists(path)
}
