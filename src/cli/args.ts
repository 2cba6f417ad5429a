/** Small helpers over node:util parseArgs so every command reports bad options the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util'

export class UsageError extends Error {
  override name = 'UsageError'
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export interface IO {
  stdout(s: string): void
  stderr(s: string): void
  readFile(path: string): Promise<string>
  env: NodeJS.ProcessEnv
}
