/**
 * Relying parties of an Anchorage OpenID Provider, for tests of the OP role: a federation
 * leaf with `openid_relying_party` metadata and a client key of its own (distinct from its
 * federation key), onboarded at its superior; its openid-client (v6) configuration for the
 * OP; a users file; and a login through the interaction seam (a test-only shortcut: the
 * interaction is completed through oidc-provider's models, the way the login pages would).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as client from 'openid-client'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import type { AuthorizationServer } from '../../src/authorization_server/service.js'
import type { AuthorizationServerCapability } from '../../src/capabilities/types.js'
import type { ManualClock } from '../../src/clock.js'
import { startLeaf, testKey, type TestEntity, type TestKey, type TestLeaf } from './entity.js'
import { onboard } from './federation.js'

export const RP_REDIRECT = 'https://rp.example/cb'

export interface Rp {
  leaf: TestLeaf
  id: string
  /** The client key (in its metadata's jwks): client assertions, request objects. */
  key: TestKey
  redirect: string
  stop(): Promise<void>
}

/** A relying party under `superior` (onboarded there), with `metadata` merged over the defaults. */
export async function startRp(o: { clock: ManualClock; superior: TestEntity; metadata?: Record<string, unknown> }): Promise<Rp> {
  const key = await testKey()
  const leaf = await startLeaf({
    clock: o.clock, authority_hints: [o.superior.entityId],
    metadata: {
      federation_entity: { organization_name: 'RP' },
      openid_relying_party: {
        client_name: 'Test RP', response_types: ['code'], grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [RP_REDIRECT], jwks: { keys: [key.publicJwk] }, ...o.metadata,
      },
    },
  })
  await onboard(o.superior, leaf.entityId)
  return { leaf, id: leaf.entityId, key, redirect: RP_REDIRECT, stop: () => leaf.stop() }
}

/** The authorization server of a deployment started with startAuthorizationServer. */
export function serverOf(op: TestEntity): AuthorizationServer {
  return (op.service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server
}

/** The RP's openid-client configuration: discovery at the OP, private_key_jwt with its client key. */
export function rpConfig(op: TestEntity, rp: Rp): Promise<client.Configuration> {
  return client.discovery(new URL(op.entityId), rp.id, { redirect_uris: [rp.redirect], response_types: ['code'] },
    client.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid }), { execute: [client.allowInsecureRequests] })
}

/** A users file with `alice` (random password): findAccount knows only its users. Returns its path and a clean-up. */
export async function usersFile(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'anchorage-op-'))
  const path = join(dir, 'users.json')
  await writeFile(path, JSON.stringify({ users: { alice: { password: await hashPassword(randomBytes(8).toString('hex')) } } }))
  return { path, remove: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * Follows an authorization request to the interaction, signs `alice` in and grants what was
 * asked (the OpenID scopes, and `resourceScope` for `resource` when given) through the seam,
 * and returns the OP's redirect (to the RP, or an error). An answer that is not a redirect to
 * the interaction is returned as it is (a refusal).
 */
export async function login(op: TestEntity, url: URL | string, init: RequestInit = {}, o: { resource?: string; resourceScope?: string } = {}): Promise<{ status: number; location?: string; body?: unknown }> {
  const first = await fetch(url, { redirect: 'manual', ...init })
  const location = first.headers.get('location')
  if (first.status !== 303 || !location?.includes('/oauth/interaction/')) {
    const text = await first.text()
    return { status: first.status, ...(location ? { location } : {}), ...(text ? { body: safeJson(text) } : {}) }
  }
  const cookies = first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const uid = location.split('/').pop()!
  const p = await serverOf(op).provider()
  const interaction = (await p.Interaction.find(uid))!
  const grant = new p.Grant({ accountId: 'alice', clientId: interaction.params.client_id as string })
  grant.addOIDCScope(String(interaction.params.scope))
  if (o.resource && o.resourceScope) grant.addResourceScope(o.resource, o.resourceScope)
  const grantId = await grant.save()
  interaction.result = { login: { accountId: 'alice' }, consent: { grantId } }
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000))
  const resumed = await fetch(new URL(interaction.returnTo, op.entityId), { redirect: 'manual', headers: { cookie: cookies } })
  return { status: resumed.status, location: resumed.headers.get('location') ?? undefined }
}

/**
 * A refused authorization request: the error of the redirect to the client, or of the error
 * page (an error oidc-provider cannot redirect, e.g. invalid_client, is an HTML page naming it:
 * http/endpoints/interactions.ts renderProviderError).
 */
export async function authorizationRefusal(res: Response): Promise<{ status: number; error?: string; description?: string }> {
  const location = res.headers.get('location')
  if (location) {
    const u = new URL(location)
    return { status: res.status, error: u.searchParams.get('error') ?? undefined, description: u.searchParams.get('error_description') ?? undefined }
  }
  const page = await res.text()
  const text = (re: RegExp) => re.exec(page)?.[1]?.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#61;/g, '=').replace(/&#96;/g, '`').replace(/&amp;/g, '&')
  return { status: res.status, error: text(/<p class="error" id="error">([^<]*)<\/p>/), description: text(/<p id="error-description">([^<]*)<\/p>/) }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
