/** Small helpers over node:util parseArgs so every command reports bad options the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from '../suggest.js'
import { ENTITY_TYPES } from '../constants.js'

export class UsageError extends Error {
  override name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>
export type Values<T extends Options> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? string[] : T[K] extends { type: 'boolean' } ? boolean : string
} & { help?: boolean }

export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false): { values: Values<T>; positionals: string[] } {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } }
  const { args, restore } = protectDashValues(argv, all, allowPositionals)
  try {
    const r = parseArgs({ args, options: all, allowPositionals, strict: true })
    const values = Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? restore(x) : x)) : typeof v === 'string' ? restore(v) : v]))
    return { values: values as Values<T>, positionals: r.positionals.map(restore) }
  } catch (err) {
    throw new UsageError(describeParseError(err as Error & { code?: string }, argv, all))
  }
}

/** parseArgs' complaint, with the closest known option for an unknown one ("did you mean --entity-type?"). */
function describeParseError(err: Error & { code?: string }, argv: string[], options: Options): string {
  if (err.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return err.message
  const given = /^Unknown option '([^']+)'/.exec(err.message)?.[1] ?? argv.find((a) => a.startsWith('-') && !isKnown(a, options)) ?? '?'
  if (given.startsWith('--')) {
    const name = given.slice(2).split('=')[0]!
    return `unknown option --${name}${didYouMean(name, Object.keys(options), (k) => `--${k}`)}`
  }
  return `unknown option ${given}`
}

function isKnown(arg: string, options: Options): boolean {
  return arg.startsWith('--') ? Object.hasOwn(options, arg.slice(2).split('=')[0]!) : true
}

/** An action the command does not have: the closest one, and the list. */
export function unknownAction(command: string, action: string, actions: readonly string[]): UsageError {
  return new UsageError(`${command}: unknown action "${action}"${didYouMean(action, actions)} (${actions.join(', ')}; see anchorage ${command} --help)`)
}

/**
 * Values that start with `-` (a key id or token is base64url, so one in 64 does): the value
 * of a string option (`--accept-kid -Ab3`), or a positional that is not a known short option
 * (`keys activate -Ab3`), would be read by parseArgs as options. They are swapped for
 * placeholders before parsing and restored after. A positional starting with `--` still
 * needs the usual `--` separator.
 */
function protectDashValues(argv: string[], options: Options, allowPositionals: boolean): { args: string[]; restore: (s: string) => string } {
  const shorts = new Map<string, string>()
  for (const [name, o] of Object.entries(options)) if (o.short) shorts.set(o.short, name)
  const kept: string[] = []
  const args: string[] = []
  const hold = (t: string) => {
    kept.push(t)
    return `\u0000${kept.length - 1}`
  }
  const isOption = (t: string) => t === '--' || (t.startsWith('--') ? Object.hasOwn(options, t.slice(2).split('=')[0]!) : [...t.slice(1)].every((c) => shorts.has(c)))
  let awaiting = false
  let rest = false
  for (const t of argv) {
    if (rest || awaiting) {
      // A known option is never taken as a value: `--anchor --accept-kid` stays a usage error.
      args.push(awaiting && t.startsWith('-') && !isOption(t) ? hold(t) : t)
      awaiting = false
      continue
    }
    if (t === '--') {
      rest = true
      args.push(t)
      continue
    }
    if (t.startsWith('--')) {
      const name = t.slice(2).split('=')[0]!
      awaiting = !t.includes('=') && options[name]?.type === 'string'
      args.push(t)
      continue
    }
    if (t.startsWith('-') && t.length > 1) {
      const letters = [...t.slice(1)]
      const known = letters.every((c) => shorts.has(c))
      if (known) {
        const last = options[shorts.get(letters.at(-1)!)!]
        awaiting = letters.length === 1 && last?.type === 'string'
        args.push(t)
      } else {
        args.push(allowPositionals ? hold(t) : t)
      }
      continue
    }
    args.push(t)
  }
  const restore = (s: string) => {
    const m = /^\u0000(\d+)$/.exec(s)
    return m ? kept[Number(m[1])]! : s
  }
  return { args, restore }
}

export interface IO {
  stdout(s: string): void
  stderr(s: string): void
  readFile(path: string): Promise<string>
  env: NodeJS.ProcessEnv
}

/** `--entity-type` values: the spec's entity types only, an unknown one refused with the known ones listed. */
export function entityTypes(values: readonly string[] | undefined): string[] | undefined {
  if (!values) return undefined
  for (const t of values) {
    if (!(ENTITY_TYPES as readonly string[]).includes(t)) {
      throw new UsageError(`--entity-type: unknown entity type "${t}"${didYouMean(t, ENTITY_TYPES)}; the entity types are ${ENTITY_TYPES.join(', ')}`)
    }
  }
  return [...values]
}
