/**
 * The `anchorage` command. Only what every run needs is imported here: each command's module
 * is imported when that command runs, so `anchorage --help` (and a typo) answers at once.
 */
import { readFile } from 'node:fs/promises'
import { UsageError, unknownAction, type IO } from './args.js'
import { didYouMean } from '../suggest.js'

const HELP = `Usage: anchorage <command> [options]

Commands:
  init          create a deployment directory (configuration, keys, admin token)
  serve         serve a deployment
  subordinate   onboard, list, update, suspend, reinstate and remove members
  keys          list, stage, activate, rotate and retire federation keys
  anchors       list and refresh the pinned trust anchors' keys
  audit         read the audit log
  operators     add, list, disable and rotate the named operators of the admin API
  trust-mark    issue, revoke and list trust marks (and delegations, own marks)
  trust-mark-type
                add and list the trust mark types this entity issues
  resolve       resolve an entity's trust chain and metadata, and say why when it fails
  policy        see what a chain of metadata policies does to metadata
  demo          run a small federation on localhost (anchor, intermediate, leaves)
  clients       list, show, revoke and reinstate registered OAuth clients (agents);
                initial access tokens for RFC 7591 registration
  users         add and list the users who sign in at the OpenID Provider (users file)
  software-statement
                issue, revoke and list software statements for RFC 7591 registration
  store         export a deployment's data, or import it into another store
  resource      an MCP server's protected-resource metadata (RFC 9728), and a token checked as it would be
  jwt           print a JWT's header and payload (decoded, not verified)
  completion    a completion script for bash or zsh (anchorage completion bash|zsh)

Run 'anchorage <command> --help' for a command's options; 'anchorage --version' prints the version.`

/**
 * Every command: its actions (the first word after it, checked before anything else runs, so
 * a mistyped one gets "did you mean" instead of a connection attempt), and how it runs. The
 * completion scripts (completion.ts) are made from this table and the commands' --help.
 */
export const COMMANDS: ReadonlyMap<string, { actions?: readonly string[]; run: (argv: string[], io: IO) => Promise<number> }> = new Map([
  ['init', { run: async (a, io) => (await import('./deployment.js')).initCommand(a, io) }],
  ['serve', { run: async (a, io) => (await import('./deployment.js')).serveCommand(a, io) }],
  ['subordinate', {
    actions: ['add', 'preview', 'list', 'show', 'dependents', 'update', 'suspend', 'reinstate', 'remove', 'refresh', 'pending', 'approve', 'reject'],
    run: async (a, io) => (await import('./commands.js')).subordinateCommand(a, io),
  }],
  ['keys', { actions: ['list', 'stage', 'activate', 'rotate', 'retire', 'encrypt'], run: async (a, io) => (await import('./commands.js')).keysCommand(a, io) }],
  ['audit', { run: async (a, io) => (await import('./commands.js')).auditCommand(a, io) }],
  ['operators', { actions: ['add', 'list', 'show', 'disable', 'enable', 'rotate'], run: async (a, io) => (await import('./operators.js')).operatorsCommand(a, io) }],
  ['anchors', { actions: ['list', 'refresh'], run: async (a, io) => (await import('./anchors.js')).anchorsCommand(a, io) }],
  ['trust-mark', { actions: ['issue', 'revoke', 'list'], run: async (a, io) => (await import('./trust_marks.js')).trustMarkCommand(a, io) }],
  ['trust-mark-type', { actions: ['add', 'list', 'remove'], run: async (a, io) => (await import('./trust_marks.js')).trustMarkTypeCommand(a, io) }],
  ['resource', { actions: ['metadata', 'check'], run: async (a, io) => (await import('./resource.js')).resourceCommand(a, io) }],
  ['resolve', { run: async (a, io) => (await import('./resolve.js')).resolveCommand(a, io) }],
  ['demo', { run: async (a, io) => (await import('./demo.js')).demoCommand(a, io) }],
  ['software-statement', { actions: ['issue', 'revoke', 'list'], run: async (a, io) => (await import('./software_statements.js')).softwareStatementCommand(a, io) }],
  ['clients', { actions: ['list', 'show', 'revoke', 'reinstate', 'initial-token'], run: async (a, io) => (await import('./clients.js')).clientsCommand(a, io) }],
  ['users', { actions: ['add', 'list'], run: async (a, io) => (await import('./users.js')).usersCommand(a, io) }],
  ['store', { actions: ['export', 'import'], run: async (a, io) => (await import('./store.js')).storeCommand(a, io) }],
  ['jwt', { actions: ['decode'], run: async (a, io) => (await import('./jwt.js')).jwtCommand(a, io) }],
  ['policy', { actions: ['resolve'], run: async (a, io) => (await import('./policy.js')).policyCommand(a, io) }],
  ['completion', { actions: ['bash', 'zsh'], run: async (a, io) => (await import('./completion.js')).completionCommand(a, io) }],
])

export function defaultIO(): IO {
  return {
    stdout: (s) => process.stdout.write(s + '\n'),
    stderr: (s) => process.stderr.write(s + '\n'),
    readFile: async (p) => (p === '-' ? readStdin() : readFile(p, 'utf8')),
    env: process.env,
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function main(argv: string[], io: IO = defaultIO()): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(HELP)
        return cmd ? 0 : 2
      case '--version':
      case '-v':
      case 'version':
        io.stdout(await version())
        return 0
    }
    const command = COMMANDS.get(cmd)
    if (!command) throw new UsageError(`unknown command "${cmd}"${didYouMean(cmd, COMMANDS.keys())} (see anchorage --help)`)
    const action = rest[0]
    if (command.actions && action !== undefined && !action.startsWith('-') && !command.actions.includes(action)) throw unknownAction(cmd, action, command.actions)
    return await command.run(rest, io)
  } catch (err) {
    // By name: ConfigError's module (config/load.ts) is not loaded unless a command needs it.
    const e = err as Error
    io.stderr(`anchorage: ${e.message}`)
    return e.name === 'UsageError' || e.name === 'ConfigError' ? 2 : 1
  }
}

/** The package's version, from its package.json (two levels up from src/cli/ and from dist/cli/ alike). */
async function version(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return String(manifest.version)
}
