/** Small helpers over node:util parseArgs so every command reports bad options the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util'

export class UsageError extends Error {
  override name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>
export type Values<T extends Options> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? string[] : T[K] extends { type: 'boolean' } ? boolean : string
} & { help?: boolean }

export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false): { values: Values<T>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true })
    return { values: r.values, positionals: r.positionals }
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
