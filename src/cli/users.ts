/**
 * `anchorage users`: the users file of the OpenID Provider role (authorization_server.users_file,
 * docs/authorization-server.md "Users and login"): development and test users who sign in
 * with a name and password. Passwords are stored as scrypt hashes only.
 */
import { randomBytes } from 'node:crypto'
import { resolve as resolvePath } from 'node:path'
import { parse, UsageError, type IO } from './args.js'
import { loadConfig } from '../config/load.js'
import { readUsersFile, writeUsersFile } from '../config/files.js'
import { emptyRecord } from '../util/json.js'
import { hashPassword, parseUsersFile, USER_NAME, UsersFileError, type UsersFileContent } from '../authorization_server/accounts.js'

export const USERS_HELP = `Usage: anchorage users <add|list> [options]

  add NAME [--password-stdin] [--email E] [--name TEXT] [--sub S]
        add a user (or replace the one of that name); without --password-stdin a random
        password is generated and printed once
  list  the users' names and subjects

  --dir DIR       deployment directory (default: ./federation); the file is its
                  authorization_server.users_file
  --file FILE     the users file itself (instead of --dir)
  --password-stdin
                  read the password from the first line of standard input
  --email E       the user's email claim (email_verified true)
  --name TEXT     the user's name claim
  --sub S         the user's subject (default: NAME)`

export async function usersCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {
    dir: { type: 'string' }, file: { type: 'string' }, 'password-stdin': { type: 'boolean' },
    email: { type: 'string' }, name: { type: 'string' }, sub: { type: 'string' },
  }, true)
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(USERS_HELP)
    return action ? 0 : 2
  }
  const file = values.file ? resolvePath(values.file) : (await loadConfig(values.dir ?? 'federation')).authorization_server?.users_file
  if (!file) throw new UsageError('no users file: set authorization_server.users_file in anchorage.json, or give --file')
  const raw = readUsersFile(file)
  let users
  try {
    users = parseUsersFile(raw)
  } catch (err) {
    if (err instanceof UsersFileError) throw new UsageError(`${file}: ${err.message}`)
    throw err
  }
  switch (action) {
    case 'list':
      for (const u of users.values()) io.stdout(u.sub === u.name ? u.name : `${u.name}\tsub=${u.sub}`)
      return 0
    case 'add': {
      const name = positionals[0]
      if (!name) throw new UsageError('users add: NAME is required')
      if (!USER_NAME.test(name)) throw new UsageError(`users add: ${name}: a user name is 1 to 64 of A-Z a-z 0-9 . _ @ + -`)
      const generated = !values['password-stdin']
      const password = generated ? randomBytes(12).toString('base64url') : (await io.readFile('-')).split(/\r?\n/, 1)[0] ?? ''
      if (password.length < 1 || password.length > 1024) throw new UsageError('users add: the password must have 1 to 1024 characters')
      const sub = values.sub ?? name
      for (const u of users.values()) if (u.name !== name && u.sub === sub) throw new UsageError(`users add: sub ${sub} is already ${u.name}'s`)
      const claims: Record<string, unknown> = {}
      if (values.name) claims.name = values.name
      if (values.email) Object.assign(claims, { email: values.email, email_verified: true })
      const content: UsersFileContent = { users: emptyRecord() }
      // Keep what the file holds (its users as written), then this one.
      const before = raw && typeof raw === 'object' ? (raw as UsersFileContent).users : {}
      for (const u of users.values()) if (u.name !== name) content.users[u.name] = before[u.name]!
      content.users[name] = { password: await hashPassword(password), ...(sub !== name ? { sub } : {}), ...(Object.keys(claims).length ? { claims } : {}) }
      writeUsersFile(file, content)
      io.stdout(generated ? `added ${name}; password (shown once): ${password}` : `added ${name}`)
      return 0
    }
    default:
      throw new UsageError(`users: unknown action "${action}" (add, list)`)
  }
}
