/**
 * `anchorage policy resolve`: for operators who want to see what a chain of metadata policies
 * does to metadata before they publish it. Each case lists the policies of one Entity Type in
 * chain order (Trust Anchor first) and the metadata to apply them to; each case yields one JSON line.
 */
import { parseArgs } from 'node:util'
import {
  PolicyError,
  PolicyExplanation,
  applyPolicy,
  resolveEntityTypePolicies,
  type ParameterPolicies,
} from '../metadata_policy/index.js'

export interface PolicyCommandIO {
  /** Writes one line (the newline is added by the IO). */
  stdout: (s: string) => void
  stderr: (s: string) => void
  /** Reads a file; `-` is standard input. */
  readFile: (path: string) => Promise<string>
}

export const POLICY_HELP = `Usage: anchorage policy resolve --input FILE [--explain] [--crit OP,...]

Combines the metadata policies of each case (Trust Anchor first, the subject's Immediate
Superior last) and applies the result to the case's metadata, as a Trust Chain resolver does
(OpenID Federation 1.0, "Metadata Policy > Enforcement").

  --input FILE   the cases: a JSON array, or JSON lines, of
                   {"policies": [P_trust_anchor, P_intermediate, ...], "metadata": {...}}
                 where each P is the policy for one Entity Type (parameter -> operator -> value)
                 or null, and "metadata" is that Entity Type's metadata. A case may add
                 "crit": [...]. {"TA": P, "INT": P, "metadata": {...}} is read as two policies.
                 "-" reads standard input.
  --explain      before each result, print (as "# " lines) which statement contributed which
                 operator value and what each operator did to each parameter
  --crit OPS     comma-separated operator names declared in metadata_policy_crit; this
                 command understands only the standard operators, so any name fails the case
  -h, --help     show this help

Output, one JSON line per case, in input order:
  {"merged": {...}, "metadata": {...}}                                     success
  {"error": "invalid_policy", "error_description": "..."}                  combining failed
  {"merged": {...}, "error": "invalid_metadata", "error_description": "..."} applying failed

Exit status: 0 when every case was processed (failed cases included); 2 on bad options or
input that cannot be read or parsed.`

interface PolicyCase {
  policies: unknown[]
  metadata: unknown
  crit: string[]
}

class InputError extends Error {}

/** Runs `anchorage policy ...` with argv after `policy`; resolves to the exit status. */
export async function policyCommand(argv: string[], io: PolicyCommandIO): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ;(sub === undefined ? io.stderr : io.stdout)(POLICY_HELP)
    return sub === undefined ? 2 : 0
  }
  if (sub !== 'resolve') {
    io.stderr(`anchorage policy: unknown subcommand "${sub}" (see anchorage policy --help)`)
    return 2
  }
  let options: { input?: string | undefined; explain: boolean; crit: string[]; help: boolean }
  try {
    options = readOptions(rest)
  } catch (err) {
    io.stderr(`anchorage policy resolve: ${(err as Error).message} (see anchorage policy resolve --help)`)
    return 2
  }
  if (options.help) {
    io.stdout(POLICY_HELP)
    return 0
  }
  if (options.input === undefined) {
    io.stderr('anchorage policy resolve: --input FILE is required (use - for standard input)')
    return 2
  }
  let cases: PolicyCase[]
  try {
    cases = parseCases(await readInput(io, options.input))
  } catch (err) {
    io.stderr(`anchorage policy resolve: ${(err as Error).message}`)
    return 2
  }
  cases.forEach((c, i) => {
    const explanation = options.explain ? new PolicyExplanation() : undefined
    const result = runCase(c, options.crit, explanation)
    if (explanation) {
      io.stdout(`# case ${i + 1}`)
      io.stdout(explanation.toText('# '))
    }
    io.stdout(JSON.stringify(result))
  })
  return 0
}

function readOptions(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string', short: 'i' },
      explain: { type: 'boolean', default: false },
      crit: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`)
  const crit = (values.crit ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '')
  return { input: values.input, explain: values.explain === true, crit, help: values.help === true }
}

async function readInput(io: PolicyCommandIO, path: string): Promise<string> {
  try {
    return await io.readFile(path)
  } catch (err) {
    throw new InputError(`cannot read ${path === '-' ? 'standard input' : path}: ${(err as Error).message}`)
  }
}

/** A JSON array of cases, a single case, or JSON lines (one case per non-empty line). */
export function parseCases(text: string): PolicyCase[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (trimmed === '') throw new InputError('the input is empty')
  let docs: unknown[]
  try {
    const doc: unknown = JSON.parse(trimmed)
    docs = Array.isArray(doc) ? doc : [doc]
  } catch (err) {
    if (trimmed.startsWith('[')) throw new InputError(`the input is not valid JSON: ${(err as Error).message}`)
    docs = trimmed.split('\n').map((line, n) => ({ line: line.trim(), n: n + 1 })).filter(({ line }) => line !== '').map(({ line, n }) => {
      try {
        return JSON.parse(line) as unknown
      } catch (e) {
        throw new InputError(`line ${n} is not valid JSON: ${(e as Error).message}`)
      }
    })
  }
  return docs.map((doc, i) => toCase(doc, i + 1))
}

function toCase(doc: unknown, n: number): PolicyCase {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(`case ${n} is not a JSON object`)
  const c = doc as Record<string, unknown>
  let policies: unknown[]
  if (Array.isArray(c.policies)) policies = c.policies
  else if (c.policies === undefined && ('TA' in c || 'INT' in c)) policies = [c.TA ?? null, c.INT ?? null]
  else throw new InputError(`case ${n}: "policies" must be an array of policies (Trust Anchor first)`)
  const crit = c.crit ?? []
  if (!Array.isArray(crit) || !crit.every((x) => typeof x === 'string')) throw new InputError(`case ${n}: "crit" must be an array of strings`)
  return { policies, metadata: c.metadata ?? {}, crit }
}

type CaseResult =
  | { merged: ParameterPolicies; metadata: Record<string, unknown> }
  | { error: 'invalid_policy'; error_description: string }
  | { merged: ParameterPolicies; error: 'invalid_metadata'; error_description: string }

function runCase(c: PolicyCase, crit: readonly string[], explain: PolicyExplanation | undefined): CaseResult {
  const n = c.policies.length
  const statements = c.policies.map((p, i) => ({
    policy: p as ParameterPolicies | null | undefined,
    label: `policies[${i}]${i === 0 ? ' (trust anchor)' : i === n - 1 ? ' (immediate superior)' : ''}`,
  }))
  let merged: ParameterPolicies
  try {
    merged = resolveEntityTypePolicies(statements, { crit: [...crit, ...c.crit], explain })
  } catch (err) {
    explain?.failed(err)
    if (err instanceof PolicyError) return { error: 'invalid_policy', error_description: err.message }
    throw err
  }
  try {
    const metadata = applyPolicy(c.metadata as Record<string, unknown>, merged, { explain })
    return { merged, metadata }
  } catch (err) {
    explain?.failed(err)
    if (!(err instanceof PolicyError)) throw err
    // A malformed metadata object or policy found while applying is still reported per case.
    return { merged, error: 'invalid_metadata', error_description: err.message }
  }
}
