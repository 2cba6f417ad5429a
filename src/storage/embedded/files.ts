/** File-system helpers of the embedded store: durable writes and line reading. */
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises'

/**
 * Makes a rename/create/unlink in `dir` durable. POSIX only persists directory entries
 * when the directory itself is fsynced; platforms that cannot fsync a directory
 * (Windows) throw, and have nothing better to offer, so that is ignored.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch (err) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err
  } finally {
    await fh?.close()
  }
}

/** write(2) may write less than asked; loop until everything is out. Returns the byte count. */
export async function writeAll(fh: FileHandle, data: string): Promise<number> {
  const buf = Buffer.from(data, 'utf8')
  let off = 0
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten
  return buf.length
}

export async function removeIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/** Writes `lines` to `tmp`, fsyncs it, renames it to `path`, fsyncs the directory; returns the size. */
export async function writeFileAtomically(
  dir: string,
  tmp: string,
  path: string,
  lines: Iterable<string>,
  fsync: boolean,
): Promise<number> {
  const fh = await open(tmp, 'w', 0o600)
  let bytes = 0
  try {
    // Batched into ~1 MB writes: one write per line would be slow, one string for
    // everything would hold a second copy of the whole store in memory.
    let buf: string[] = []
    let size = 0
    for (const line of lines) {
      buf.push(line)
      size += line.length + 1
      if (size >= 1 << 20) {
        bytes += await writeAll(fh, buf.join('\n') + '\n')
        buf = []
        size = 0
      }
    }
    if (buf.length > 0) bytes += await writeAll(fh, buf.join('\n') + '\n')
    if (fsync) await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  if (fsync) await fsyncDir(dir)
  return bytes
}

export interface Line {
  /** 1-based. */
  lineNo: number
  /** Byte offset of the line's first byte. */
  offset: number
  text: string
  /** False for a last line with no '\n' after it: it was cut short by a crash. */
  terminated: boolean
}

/**
 * Streams the lines of a file with their byte offsets (so a torn tail can be truncated
 * exactly), without holding the whole file in memory. Yields the lines of each 1 MB read
 * together: one async step per line would cost more than parsing them. Splitting on the
 * byte 0x0A is safe in UTF-8: it never occurs inside a multi-byte sequence.
 */
export async function* readLines(path: string): AsyncGenerator<Line[]> {
  const fh = await open(path, 'r')
  try {
    const chunk = Buffer.allocUnsafe(1 << 20)
    let carry: Buffer = Buffer.alloc(0)
    let carryOffset = 0
    let lineNo = 0
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) break
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead)
      const lines: Line[] = []
      let start = 0
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        lines.push({ lineNo: ++lineNo, offset: carryOffset + start, text: data.toString('utf8', start, nl), terminated: true })
        start = nl + 1
      }
      // Copied: `chunk` is reused by the next read.
      carry = Buffer.from(data.subarray(start))
      carryOffset += start
      if (lines.length > 0) yield lines
    }
    if (carry.length > 0) yield [{ lineNo: ++lineNo, offset: carryOffset, text: carry.toString('utf8'), terminated: false }]
  } finally {
    await fh.close()
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}
