/**
 * Who a client is according to the federation, for the consent page: its organization
 * name and logo from its resolved (policy-applied) metadata, the trust chain from the client
 * to the anchor, the trust marks verified in that chain, the hosts it redirects to. All of
 * it comes from the client's registration (registration/records.ts), i.e. from statements
 * the federation signed, not from the authorization request. Every value is outside input:
 * read with own-property semantics, type-checked, bounded; the page HTML-escapes them.
 */
import type { Registration } from '../registration/records.js'
import { isJsonObject, own } from '../util/json.js'

export interface ClientIdentity {
  client_id: string
  /** The client has an active registration through a trust chain. */
  federated: boolean
  organization_name?: string
  client_name?: string
  /** https only (http only for a development deployment). */
  logo_uri?: string
  /** Entity ids from the client to its trust anchor. */
  chain: string[]
  trust_marks: Array<{ trust_mark_type: string; trust_mark_issuer: string }>
  /** Hosts of the registered redirect URIs. */
  redirect_hosts: string[]
  /**
   * A client identified by a metadata document (its client_id is the document's URL): the
   * federation entity that vouches for it, first in `chain`. Organization, chain and trust
   * marks are that entity's, as the federation states them, never the document's.
   */
  vouched_by?: string
}

const MAX_TEXT = 200
const MAX_ITEMS = 20

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.slice(0, MAX_TEXT) : undefined)

function safeUrl(v: unknown, allowHttp: boolean): string | undefined {
  if (typeof v !== 'string' || v.length > 2048) return undefined
  try {
    const u = new URL(v)
    return u.protocol === 'https:' || (allowHttp && u.protocol === 'http:') ? u.href : undefined
  } catch {
    return undefined
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, MAX_ITEMS).map((s) => s.slice(0, 2048)) : []
}

function hosts(uris: string[]): string[] {
  const out = new Set<string>()
  for (const u of uris) {
    try {
      const url = new URL(u)
      out.add(url.host || `${url.protocol}`)
    } catch { /* not a URL: nothing to show */ }
  }
  return [...out]
}

/**
 * The identity of `clientId` from its registration (`registration`, when it is active) or,
 * without one, from the client metadata the provider knows (`fallback`: not federated).
 */
export function clientIdentity(
  clientId: string,
  registration: Registration | undefined,
  fallback: Record<string, unknown> = {},
  options: { allowHttp?: boolean } = {},
): ClientIdentity {
  const allowHttp = options.allowHttp ?? false
  if (!registration || registration.status !== 'active') {
    return {
      client_id: clientId, federated: false,
      ...opt('client_name', text(own(fallback, 'client_name'))),
      ...opt('logo_uri', safeUrl(own(fallback, 'logo_uri'), allowHttp)),
      chain: [clientId], trust_marks: [], redirect_hosts: hosts(strings(own(fallback, 'redirect_uris'))),
    }
  }
  const md = registration.metadata
  const typed = own(md, registration.entity_type)
  const fed = own(md, 'federation_entity')
  const pick = (k: string) => own(typed, k) ?? own(fed, k)
  // CORE's registration records carry the chain's subjects and the verified marks; older ones do not.
  const chain = strings(own(registration, 'chain'))
  const marks = own(registration, 'trust_marks')
  const document = registration.registration_type === 'metadata_document' ? own(registration, 'document') : undefined
  const entity = typeof registration.entity_id === 'string' ? registration.entity_id : clientId
  return {
    client_id: clientId,
    federated: true,
    ...opt('organization_name', text(pick('organization_name'))),
    ...opt('client_name', text(own(typed, 'client_name'))),
    ...opt('logo_uri', safeUrl(pick('logo_uri'), allowHttp)),
    chain: chain.length >= 2 ? chain : [entity, ...(registration.authority_hint && registration.authority_hint !== registration.trust_anchor ? [registration.authority_hint] : []), registration.trust_anchor],
    trust_marks: (Array.isArray(marks) ? marks : []).slice(0, MAX_ITEMS).flatMap((m: unknown) => {
      const type = own(m, 'trust_mark_type')
      const iss = own(m, 'trust_mark_issuer')
      return isJsonObject(m) && typeof type === 'string' && typeof iss === 'string' ? [{ trust_mark_type: type.slice(0, 2048), trust_mark_issuer: iss.slice(0, 2048) }] : []
    }),
    // A document client is sent back to its document's redirect URIs (within the entity's).
    redirect_hosts: hosts(strings(own(document ?? typed, 'redirect_uris'))),
    ...(document !== undefined ? { vouched_by: entity } : {}),
  }
}

function opt<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: string }
}
