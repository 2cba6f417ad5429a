/** Runs the real `anchorage` command (TypeScript sources through tsx) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join, dirname } from 'node:path'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ENTRY = join(ROOT, 'src', 'cli', 'run.ts')

export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ANCHORAGE_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

/** Starts `anchorage serve` and resolves once it prints its listening line. */
export function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{
  child: ChildProcess
  output: () => string
  /** Resolves once the output (stdout + stderr) matches. */
  waitFor(pattern: RegExp): Promise<void>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve', ...args], {
      cwd: ROOT,
      env: { ...process.env, ANCHORAGE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const waiters: Array<{ pattern: RegExp; resolve: () => void }> = []
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`anchorage serve did not start:\n${out}`))
    }, 20_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(out)) w.resolve()
        else waiters.push(w)
      }
      if (/listening on /.test(out)) {
        clearTimeout(timer)
        resolve({
          child,
          output: () => out,
          waitFor: (pattern) => new Promise<void>((r) => (pattern.test(out) ? r() : waiters.push({ pattern, resolve: r }))),
          stop: (signal = 'SIGTERM') => new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r(child.exitCode)
            child.once('exit', (code) => r(code))
            child.kill(signal)
          }),
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (!/listening on /.test(out)) reject(new Error(`anchorage serve exited with ${code}:\n${out}`))
    })
  })
}
