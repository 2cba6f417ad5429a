/**
 * The trust anchor's software statements (RFC 7591 section 2.3 "Software Statement"):
 * issued to vetted partners that register by RFC 7591 dynamic client registration, signed
 * with this entity's federation signing key, typed `software-statement+jwt`, recorded in
 * the `software_statements` collection (id = jti) so they can be listed and revoked.
 * Every issuance and revocation is audited with its write (one atomic write).
 */
import { randomBytes } from 'node:crypto'
import type { JSONWebKeySet } from 'jose'
import type { Foundation } from '../foundation.js'
import type { Config } from '../config/load.js'
import { TYP } from '../constants.js'
import { signJwt, decodeUnverified } from '../crypto/jwt.js'
import { publicJwksProblem } from '../crypto/jwks.js'
import { InvalidRequest, NotFound } from '../errors.js'
import { validator, describeAjvError } from '../config/schemas.js'
import { isLoopbackHost } from './redirect_uris.js'
import {
  RETENTION_AFTER_EXP, tokenHash, view, statusOf,
  type SoftwareStatementRecord, type SoftwareStatementView, type StatementMetadata, type StatementStatus,
} from './records.js'
import { verifySoftwareStatement, type SoftwareStatementClaims, type TrustedIssuer } from './verify.js'

export type SoftwareStatementDeps = Pick<Foundation, 'entityId' | 'store' | 'clock' | 'keystore' | 'audit'> & {
  readonly config: Pick<Config, 'software_statements' | 'clock_skew' | 'limits'>
}

interface IssueInput extends Partial<StatementMetadata> { software_id: string; client_name: string; lifetime?: number }

export interface IssueResult extends SoftwareStatementView { software_statement: string }

export class SoftwareStatements {
  private keys: { published: JSONWebKeySet; merged: JSONWebKeySet } | undefined

  constructor(private readonly f: SoftwareStatementDeps) {}

  async issue(input: unknown, actor: string): Promise<IssueResult> {
    const body = validate<IssueInput>('software_statement', input)
    const { default_lifetime: dflt, max_lifetime: max } = this.f.config.software_statements
    if (body.lifetime !== undefined && body.lifetime > max) throw new InvalidRequest(`lifetime: must be <= ${max} (software_statements.max_lifetime)`)
    if (body.jwks !== undefined) {
      const problem = await publicJwksProblem(body.jwks)
      if (problem) throw new InvalidRequest(`jwks.${problem}`)
    }
    if (body.jwks !== undefined && body.jwks_uri !== undefined) throw new InvalidRequest('jwks_uri: must not be given with jwks (RFC 7591 section 2)')
    for (const [i, uri] of (body.redirect_uris ?? []).entries()) {
      const problem = redirectUriProblem(uri)
      if (problem) throw new InvalidRequest(`redirect_uris[${i}]: ${problem}`)
    }
    // Explicit grant types (RFC 7591 section 2): the registration may never widen them.
    const grantTypes = body.grant_types ?? [body.redirect_uris ? 'authorization_code' : 'client_credentials']
    if (grantTypes.includes('authorization_code') && !body.redirect_uris) throw new InvalidRequest('redirect_uris: is required with the authorization_code grant type')
    if (body.redirect_uris && !grantTypes.includes('authorization_code')) throw new InvalidRequest('redirect_uris: only with the authorization_code grant type')
    if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code')) throw new InvalidRequest('grant_types: refresh_token only with authorization_code')

    const iat = this.f.clock.now()
    const exp = iat + Math.min(body.lifetime ?? dflt, max)
    const jti = randomBytes(16).toString('base64url')
    const meta: StatementMetadata = {
      software_id: body.software_id,
      ...(body.software_version !== undefined ? { software_version: body.software_version } : {}),
      client_name: body.client_name,
      ...(body.client_uri !== undefined ? { client_uri: body.client_uri } : {}),
      ...(body.jwks !== undefined ? { jwks: { keys: body.jwks.keys.map(publicMembers) } } : {}),
      ...(body.jwks_uri !== undefined ? { jwks_uri: body.jwks_uri } : {}),
      grant_types: [...grantTypes],
      ...(body.scope !== undefined ? { scope: body.scope } : {}),
      ...(body.redirect_uris !== undefined ? { redirect_uris: [...body.redirect_uris] } : {}),
    }
    const claims = { iss: this.f.entityId, sub: body.software_id, ...meta, iat, exp, jti }
    const token = await signJwt(claims, await this.f.keystore.signingKey(), TYP.softwareStatement)
    const rec: SoftwareStatementRecord = {
      id: jti, iss: this.f.entityId, ...meta, iat, exp, hash: tokenHash(token), status: 'active',
      issued_by: actor, software_statement: token, expires_at: exp + RETENTION_AFTER_EXP,
    }
    const audit = this.f.audit.event(actor, 'software_statement.issue', 'success', body.software_id, { jti, exp, grant_types: meta.grant_types })
    await this.f.store.insert('software_statements', rec, { audit })
    return { ...view(rec, iat), software_statement: token }
  }

  /** Revokes one statement (idempotent: revoking a revoked statement writes and audits nothing). */
  async revoke(input: unknown, actor: string): Promise<SoftwareStatementView> {
    const body = validate<{ jti: string; reason?: string }>('software_statement_revoke', input)
    const now = this.f.clock.now()
    const cur = await this.get(body.jti)
    if (!cur) {
      await this.f.audit.record(actor, 'software_statement.revoke', 'failure', body.jti, { jti: body.jti, reason: 'unknown jti' })
      throw new NotFound(`jti: no software statement ${body.jti} was issued by this entity`)
    }
    if (cur.status === 'revoked') return view(cur, now)
    const audit = this.f.audit.event(actor, 'software_statement.revoke', 'success', cur.software_id, { jti: body.jti, ...(body.reason ? { reason: body.reason } : {}) })
    const rec = await this.f.store.update<SoftwareStatementRecord>('software_statements', body.jti, (r) =>
      (r && r.status !== 'revoked' ? { ...r, status: 'revoked', revoked_at: now, ...(body.reason ? { reason: body.reason } : {}) } : undefined), { audit })
    return view(rec ?? (await this.get(body.jti)) ?? cur, now)
  }

  get(jti: string): Promise<SoftwareStatementRecord | undefined> {
    return this.f.store.get<SoftwareStatementRecord>('software_statements', jti)
  }

  /** A page in jti order. */
  async page(o: { limit: number; after?: string; software_id?: string; status?: StatementStatus }): Promise<SoftwareStatementView[]> {
    const now = this.f.clock.now()
    const where: Record<string, string> = {}
    if (o.software_id) where.software_id = o.software_id
    // Stored status is active|revoked; expired is active past exp (filtered below).
    if (o.status) where.status = o.status === 'revoked' ? 'revoked' : 'active'
    const out: SoftwareStatementView[] = []
    let after = o.after
    for (;;) {
      const batch = await this.f.store.list<SoftwareStatementRecord>('software_statements', { where, limit: o.limit, ...(after ? { after } : {}) })
      for (const r of batch) {
        const v = view(r, now)
        if (!o.status || v.status === o.status) out.push(v)
        if (out.length === o.limit) return out
      }
      if (batch.length < o.limit) return out
      after = batch.at(-1)!.id
    }
  }

  /**
   * The status endpoint's answer (docs/software-statements.md, "Status"), modelled on spec
   * "Trust Mark Status": a JWT signed with the federation key, typ
   * software-statement-status-response+jwt, saying whether a statement this entity issued is
   * active, expired or revoked. Only the exact token on record is known (its SHA-256); any
   * other is NotFound, so the endpoint tells nothing about jtis it is not shown the token of.
   */
  async statusResponse(token: string): Promise<string> {
    let jti: unknown
    try {
      jti = decodeUnverified(token, { maxDepth: this.f.config.limits.json_depth }).payload.jti
    } catch {
      throw new InvalidRequest('software_statement: not a compact JWS')
    }
    const rec = typeof jti === 'string' && jti !== '' ? await this.get(jti) : undefined
    if (!rec || rec.hash !== tokenHash(token)) throw new NotFound('software_statement: not a statement this entity issued')
    const now = this.f.clock.now()
    return signJwt({ iss: this.f.entityId, iat: now, jti: rec.id, software_id: rec.software_id, status: statusOf(rec, now) },
      await this.f.keystore.signingKey(), TYP.softwareStatementStatusResponse)
  }

  /** This entity as a trusted issuer: its keys (published, and retired ones not compromised) and its records. */
  async asTrustedIssuer(): Promise<TrustedIssuer> {
    const published = await this.f.keystore.jwks()
    if (this.keys?.published !== published) {
      const retired = (await this.f.keystore.historical())
        .filter((k) => k.revoked?.reason !== 'compromised')
        .map((k) => ({ ...k.public_jwk, kid: k.id }))
      const kids = new Set(published.keys.map((k) => k.kid))
      this.keys = { published, merged: { keys: [...published.keys, ...retired.filter((k) => !kids.has(k.kid))] } }
    }
    return { iss: this.f.entityId, jwks: this.keys.merged, lookup: (jti) => this.get(jti) }
  }

  /** Verifies a statement this entity issued (signature, typ, exp, on record, not revoked). */
  async verify(token: unknown): Promise<SoftwareStatementClaims> {
    const self = await this.asTrustedIssuer()
    return verifySoftwareStatement(token, {
      trustedIssuers: [self], clock: this.f.clock, skew: this.f.config.clock_skew,
      json: { maxDepth: this.f.config.limits.json_depth },
    })
  }
}

function validate<T>(schema: string, input: unknown): T {
  const v = validator(schema)
  if (!v(input)) throw new InvalidRequest(describeAjvError(v.errors, { indexes: 'brackets' }))
  return input as T
}

/** The members a public JWK carries (publicJwksProblem refused private ones already); nothing else is signed. */
function publicMembers(k: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const m of ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y', 'n', 'e', 'key_ops', 'x5c', 'x5t', 'x5t#S256']) {
    if (Object.hasOwn(k, m)) out[m] = k[m]
  }
  return out
}

/**
 * RFC 8252 section 7.3 / 8.3 and RFC 6749 section 3.1.2: https redirect URIs, or http on a
 * loopback IP literal for native apps; never a fragment, never credentials in the URI.
 */
export function redirectUriProblem(uri: string): string | undefined {
  let u: URL
  try {
    u = new URL(uri)
  } catch {
    return 'must be an absolute URI'
  }
  if (uri.includes('#')) return 'must not contain a fragment (RFC 6749 section 3.1.2)'
  if (u.username || u.password) return 'must not carry credentials'
  if (u.protocol === 'https:') return undefined
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return undefined
  return 'must be https, or http on a loopback IP literal (RFC 8252 section 7.3)'
}
