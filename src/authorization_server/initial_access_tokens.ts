/**
 * Initial access tokens (RFC 7591 section 3, "Client Registration Endpoint": an OAuth 2.0
 * access token that authorizes registration): a second gate beside the software statement,
 * issued by the operator after vetting a partner, good for a number of registrations
 * (single use by default) until it expires. Stored as the SHA-256 of the token (collection
 * `initial_access_tokens`, id = the hash): the value is shown once, at issuance. Every
 * issuance, use and revocation is audited.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { RegistrationDeps } from '../registration/deps.js'
import type { StoredRecord } from '../storage/types.js'
import { InvalidRequest, InvalidToken, NotFound } from '../errors.js'
import { validator, describeAjvError } from '../config/schemas.js'
import { own } from '../util/json.js'

export const INITIAL_ACCESS_TOKEN_COLLECTION = 'initial_access_tokens'
/** Default lifetime, seconds (the bounds of uses and lifetime: schemas/initial_access_token.schema.json). */
export const DEFAULT_LIFETIME = 7 * 86_400

export interface InitialAccessTokenRecord extends StoredRecord {
  /** base64url SHA-256 of the token. */
  id: string
  uses: number
  uses_left: number
  issued_at: number
  exp: number
  issued_by: string
  note?: string
  /** Client ids registered with it. */
  clients: string[]
}

const digest = (token: string): string => createHash('sha256').update(token).digest('base64url')

export class InitialAccessTokens {
  constructor(private readonly f: Pick<RegistrationDeps, 'store' | 'clock' | 'audit'>) {}

  /** `input`: schemas/initial_access_token.schema.json (uses, lifetime, note; the admin API's contract shows it). */
  async issue(input: unknown, actor: string): Promise<Record<string, unknown>> {
    const body = validateBody('initial_access_token', input)
    const uses = (own(body, 'uses') as number | undefined) ?? 1
    const lifetime = (own(body, 'lifetime') as number | undefined) ?? DEFAULT_LIFETIME
    const note = own(body, 'note') as string | undefined
    const token = randomBytes(32).toString('base64url')
    const now = this.f.clock.now()
    const rec: InitialAccessTokenRecord = {
      id: digest(token), uses, uses_left: uses, issued_at: now, exp: now + lifetime,
      expires_at: now + lifetime, issued_by: actor, clients: [], ...(note !== undefined ? { note } : {}),
    }
    const audit = this.f.audit.event(actor, 'initial_access_token.issue', 'success', rec.id, { uses: rec.uses, exp: rec.exp, ...(rec.note ? { note: rec.note } : {}) })
    await this.f.store.insert(INITIAL_ACCESS_TOKEN_COLLECTION, rec, { audit })
    return { initial_access_token: token, ...view(rec) }
  }

  /** The token's record while it can still register a client; invalid_token otherwise (RFC 6750 section 3.1). */
  async check(token: string | undefined): Promise<InitialAccessTokenRecord> {
    if (token === undefined) throw new InvalidToken('an initial access token is required (Authorization: Bearer; RFC 7591 section 3)')
    const rec = await this.f.store.get<InitialAccessTokenRecord>(INITIAL_ACCESS_TOKEN_COLLECTION, digest(token))
    if (!rec || rec.uses_left < 1) throw new InvalidToken('the initial access token is not valid (unknown, expired, revoked or used up)')
    return rec
  }

  /** Counts one registration against the token, atomically; invalid_token when it was used up meanwhile. */
  async spend(rec: InitialAccessTokenRecord, clientId: string): Promise<void> {
    let spent = false
    await this.f.store.update<InitialAccessTokenRecord>(INITIAL_ACCESS_TOKEN_COLLECTION, rec.id, (cur) => {
      spent = false
      if (!cur || cur.uses_left < 1) return undefined
      spent = true
      return { ...cur, uses_left: cur.uses_left - 1, clients: [...cur.clients, clientId].slice(-100) }
    })
    if (!spent) throw new InvalidToken('the initial access token is not valid (unknown, expired, revoked or used up)')
  }

  async list(): Promise<Array<Record<string, unknown>>> {
    return (await this.f.store.list<InitialAccessTokenRecord>(INITIAL_ACCESS_TOKEN_COLLECTION, { limit: 1000 })).map(view)
  }

  /** `input`: schemas/initial_access_token_revoke.schema.json (`{id}`). */
  async revoke(input: unknown, actor: string): Promise<void> {
    const id = own(validateBody('initial_access_token_revoke', input), 'id') as string
    const audit = this.f.audit.event(actor, 'initial_access_token.revoke', 'success', id)
    if (!(await this.f.store.remove(INITIAL_ACCESS_TOKEN_COLLECTION, id, { audit }))) throw new NotFound(`no initial access token ${id}`)
  }
}

function view(r: InitialAccessTokenRecord): Record<string, unknown> {
  return { id: r.id, uses: r.uses, uses_left: r.uses_left, issued_at: r.issued_at, exp: r.exp, issued_by: r.issued_by, ...(r.note ? { note: r.note } : {}), clients: r.clients }
}

/** The body as its schema (schemas/NAME.schema.json) allows, or 400 naming the field. */
function validateBody(schema: string, input: unknown): Record<string, unknown> {
  const v = validator(schema)
  if (!v(input)) throw new InvalidRequest(describeAjvError(v.errors))
  return input as Record<string, unknown>
}
