/**
 * What the admin API's OpenAPI contract says of each admin route (docs/admin-api.md, "The
 * OpenAPI contract"): ONE table, data only, keyed like roles.ts (the method and the path below
 * `{entity path}/admin`, as routed). openapi.ts builds the document at start-up from the routes
 * the router has, their roles (roles.ts) and this table; a routed route missing here stops the
 * start, as a route without a role does.
 *
 * A body is named by its schema, `schemas/NAME.schema.json`: the schema the server validates
 * that body with, which the contract carries as it is (openapi.ts). Statuses, limits and
 * parameter values come from the constants the routes use.
 */
import { STATUS } from '../../errors.js'
import { KEY_PURPOSES } from './routes.js'
import { MEMBER_STATUSES, MAX_QUERY_TEXT } from './members.js'
import { STATEMENT_STATUSES } from './software_statements.js'
import { CLIENT_STATUSES } from './clients.js'
import { PAGE_LIMIT } from './respond.js'

/** A JSON Schema (2020-12 as OpenAPI 3.1 reads it; the bodies' schemas say nothing draft-specific). */
export type JsonSchema = Record<string, unknown>

export interface QueryParameter {
  name: string
  description: string
  schema: JsonSchema
  required?: boolean
  /** May be given several times (`trust_anchor=a&trust_anchor=b`). */
  repeated?: boolean
}

/** A success answer: a JSON object unless `mediaType` says otherwise. */
export interface Answer {
  description: string
  schema?: JsonSchema
  mediaType?: string
}

export interface AdminOperation {
  /** The group it is listed under (TAGS). */
  tag: string
  summary: string
  description?: string
  /** Each path parameter (`:id`), described. */
  params?: Readonly<Record<string, string>>
  query?: readonly QueryParameter[]
  /** The JSON body, validated by schemas/`schema`.schema.json; `optional`: none (or empty) is `{}`. */
  body?: { schema: string; optional?: true }
  /** Success answers by status. */
  ok: Readonly<Record<number, Answer>>
  /**
   * Refusals beyond those every route of its kind gives (400 for a bad body or query, 401,
   * 403 below its role, 404 for an unknown path parameter, 413 and 415 with a body).
   */
  refusals?: readonly number[]
}

/** The groups, in the order a reader meets them. */
export const TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'subordinates', description: 'The trust registry: members, their subordinate statements and their key changes.' },
  { name: 'audit', description: 'The audit log: every change, and refused attempts in aggregate.' },
  { name: 'keys', description: 'Federation keys (and the authorization server\'s with `?purpose=oauth`): rollover steps, each audited.' },
  { name: 'anchors', description: 'Pinned trust anchors and their refresh.' },
  { name: 'trust marks', description: 'Trust mark types, issuance, the trust anchor\'s settings, delegations, and this entity\'s own marks.' },
  { name: 'software statements', description: 'Software statements for partners registering by RFC 7591.' },
  { name: 'resolve', description: 'The resolver for operators: discovery outside the unauthenticated bounds.' },
  { name: 'clients', description: 'Registered clients of the authorization server, and the kill-switch (with authorization_server).' },
  { name: 'initial access tokens', description: 'RFC 7591 initial access tokens (with authorization_server).' },
  { name: 'operators', description: 'Named operators of the admin API and their roles.' },
  { name: 'session', description: 'Who is asking, and the operator console\'s session (docs/console.md).' },
  { name: 'operations', description: 'Metrics and this contract.' },
]

const MEMBER = { id: 'The member\'s entity id, URL-encoded (`https%3A%2F%2Fleaf.example.org`).' }
const KID = { kid: 'The key id.' }
const CLIENT = { id: 'The client id, URL-encoded.' }
const OPERATOR = { name: 'The operator\'s name.' }

const limit: QueryParameter = {
  name: 'limit', description: `Items per page (${PAGE_LIMIT.default} when absent).`,
  schema: { type: 'integer', minimum: PAGE_LIMIT.min, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default },
}
const after: QueryParameter = { name: 'after', description: 'The cursor: `next` of the previous page.', schema: { type: 'string' } }
const status = (values: readonly string[]): QueryParameter => ({ name: 'status', description: 'Only the items of this status.', schema: { type: 'string', enum: [...values] } })
const purpose: QueryParameter = {
  name: 'purpose', description: 'Which keys: the federation keys (default) or the authorization server\'s token signing keys (`oauth`; 400 without authorization_server).',
  schema: { type: 'string', enum: [...KEY_PURPOSES], default: 'federation' },
}
const trustMarkType = (required: boolean): QueryParameter => ({ name: 'trust_mark_type', description: 'The trust mark type identifier.', schema: { type: 'string' }, ...(required ? { required } : {}) })

/** The filters of the audit log's pages and export (audit.ts). */
const instant = (name: string, what: string): QueryParameter => ({
  name, description: `${what}: an RFC 3339 date-time (\`2026-12-01T10:00:00Z\`) or a date (its midnight UTC).`, schema: { type: 'string' },
})
const auditFilters: readonly QueryParameter[] = [
  { name: 'action', description: 'Only events of this action (`subordinate.add`, `admin.authenticate`, ...).', schema: { type: 'string', maxLength: 256 } },
  { name: 'subject', description: 'Only events about this subject.', schema: { type: 'string', maxLength: MAX_QUERY_TEXT } },
  { name: 'actor', description: 'Only events of this actor (an operator\'s name, or `anchorage`, `anonymous`, `cli`).', schema: { type: 'string', maxLength: 256 } },
  instant('since', 'Only events at or after this time'),
  instant('until', 'Only events before this time'),
]

/** A JSON object whose members this contract does not list (they are in docs/admin-api.md). */
const ANY_OBJECT: JsonSchema = { type: 'object', additionalProperties: true }

/** `{items, next?}`: a page in cursor order; `next` only when the page is full. */
export const PAGE_SCHEMA: JsonSchema = {
  type: 'object', required: ['items'],
  properties: {
    items: { type: 'array', items: ANY_OBJECT },
    next: { type: 'string', description: 'Present when the page is full: the `after` of the next page.' },
  },
}
const items: JsonSchema = { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ANY_OBJECT } } }
const page = (what: string): Answer => ({ description: `${what}: one page, \`{items, next?}\`.`, schema: { $ref: '#/components/schemas/Page' } })
const list = (what: string): Answer => ({ description: `${what}: \`{items}\`.`, schema: items })
const object = (description: string): Answer => ({ description, schema: ANY_OBJECT })
const none = (description: string): Answer => ({ description })

/** The error JSON of every refusal: `{error, error_description}` with a code of the STATUS table (src/errors.ts). */
export const ERROR_SCHEMA: JsonSchema = {
  type: 'object', required: ['error', 'error_description'], additionalProperties: false,
  properties: {
    error: { type: 'string', enum: Object.keys(STATUS) },
    error_description: { type: 'string', description: 'What was refused, naming the field or parameter.' },
  },
}

export const ADMIN_OPERATIONS: ReadonlyMap<string, AdminOperation> = new Map<string, AdminOperation>([
  // The trust registry (routes.ts, subordinate_keys.ts).
  ['POST /subordinates', {
    tag: 'subordinates', summary: 'Onboard a member',
    description: 'Without `jwks`, the member\'s entity configuration is fetched and checked, and its keys, entity types and trust marks taken from it. The record must pass the checks of docs/admin-api.md, "What onboarding and every PATCH check".',
    body: { schema: 'subordinate' }, ok: { 201: object('The member record.') }, refusals: [409, 503],
  }],
  ['GET /subordinates', {
    tag: 'subordinates', summary: 'List members (this entity\'s direct subordinates), filtered',
    description: 'Every filter is answered from a store index, so a page costs about its size at any roster size (docs/admin-api.md, "Members").',
    query: [
      limit, { ...after, description: 'The cursor: `next` of the previous page (the last entity id seen).' },
      { ...status(MEMBER_STATUSES), description: 'Only members of this status; `pending`: a key change waits for approval, whatever the status.' },
      { name: 'entity_type', description: 'Only members with this entity type.', schema: { type: 'string', maxLength: 256 } },
      { name: 'intermediate', description: 'Only intermediates (`true`) or only leaves (`false`).', schema: { type: 'string', enum: ['true', 'false'] } },
      { name: 'q', description: 'Only entity ids starting with this text; without `://`, the text after `https://` or `http://`.', schema: { type: 'string', maxLength: MAX_QUERY_TEXT } },
    ],
    ok: { 200: page('Member records in entity id order') },
  }],
  ['POST /subordinates/preview', {
    tag: 'subordinates', summary: 'Preview onboarding: the entity configuration fetched, verified and checked, nothing written',
    description: 'What onboarding without `jwks` would find and refuse (docs/admin-api.md, "Preview before onboarding"); 200 whatever it found.',
    body: { schema: 'subordinate_preview' },
    ok: { 200: object('`{entity_id, acceptable, problems, entity_configuration: {jwt, header, payload} | null, authority_hints?, metadata?, would_onboard?}`.') }, refusals: [429],
  }],
  ['GET /subordinates/:id/detail', {
    tag: 'subordinates', summary: 'A member\'s page: its record, statement as issued, trust marks and dependents', params: MEMBER,
    ok: { 200: object('`{member, statement: {jwt, header, payload} | null, statement_error?, trust_marks, dependents}`.') },
  }],
  ['GET /subordinates/:id/dependents', {
    tag: 'subordinates', summary: 'What depends on a member here: clients, software statement clients, entities below; active tokens', params: MEMBER,
    ok: { 200: object('`{entity_id, status, intermediate, clients, software_clients, below, totals, truncated?}` (docs/admin-api.md, "Member detail and dependents").') },
  }],
  ['GET /subordinates/pending', { tag: 'subordinates', summary: 'Key changes waiting for the operator', ok: { 200: list('Members with `pending_keys`') } }],
  ['GET /subordinates/:id', { tag: 'subordinates', summary: 'Show a member', params: MEMBER, ok: { 200: object('The member record.') } }],
  ['PATCH /subordinates/:id', {
    tag: 'subordinates', summary: 'Update a member', description: 'A property set to null is removed. The record with the patch applied must pass the onboarding checks.',
    params: MEMBER, body: { schema: 'subordinate_patch' }, ok: { 200: object('The member record.') }, refusals: [409],
  }],
  ['DELETE /subordinates/:id', { tag: 'subordinates', summary: 'Remove a member', params: MEMBER, ok: { 204: none('Removed.') } }],
  ['POST /subordinates/:id/suspend', { tag: 'subordinates', summary: 'Suspend a member (no statement is served for it)', params: MEMBER, ok: { 200: object('The member record.') } }],
  ['POST /subordinates/:id/reinstate', { tag: 'subordinates', summary: 'Reinstate a suspended member', params: MEMBER, ok: { 200: object('The member record.') } }],
  ['POST /subordinates/refresh', {
    tag: 'subordinates', summary: 'Refresh a member\'s keys (or every member\'s) from its entity configuration',
    body: { schema: 'subordinate_refresh' }, ok: { 200: object('`{entity_id, outcome, kids?, signed_with?, error?}`, or `{items: [...]}` for `all`.') }, refusals: [404],
  }],
  ['POST /subordinates/:id/approve', { tag: 'subordinates', summary: 'Take a member\'s pending keys', params: MEMBER, ok: { 200: object('The member record, re-signed with the new keys.') }, refusals: [409] }],
  ['POST /subordinates/:id/reject', { tag: 'subordinates', summary: 'Drop a member\'s pending keys', params: MEMBER, ok: { 200: object('The member record.') }, refusals: [409] }],
  // The audit log.
  ['GET /audit', {
    tag: 'audit', summary: 'Read the audit log, oldest first',
    query: [
      { name: 'after', description: 'The last `seq` seen.', schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
      limit,
      ...auditFilters,
    ],
    ok: {
      200: {
        description: '`{events, next?}`: `next` (the last `seq`) when the page is full.',
        schema: { type: 'object', required: ['events'], properties: { events: { type: 'array', items: ANY_OBJECT }, next: { type: 'integer' } } },
      },
    },
  }],
  ['GET /audit/export', {
    tag: 'audit', summary: 'Export every matching event, streamed, oldest first',
    description: 'CSV cells a spreadsheet would read as a formula start with an apostrophe (docs/admin-api.md, "Audit").',
    query: [
      { name: 'format', description: 'NDJSON (one event per line) or CSV (RFC 4180, a header line).', schema: { type: 'string', enum: ['ndjson', 'csv'], default: 'ndjson' } },
      { name: 'after', description: 'Only events after this `seq`.', schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
      ...auditFilters,
    ],
    ok: {
      200: {
        description: 'The events, as an attachment (`Content-Disposition`); `text/csv; charset=utf-8; header=present` for `format=csv`.',
        mediaType: 'application/x-ndjson', schema: { type: 'string' },
      },
    },
  }],
  // Federation keys and pinned anchors.
  ['GET /keys', { tag: 'keys', summary: 'List keys (never private material)', query: [purpose], ok: { 200: object('`{keys: [{kid, alg, state, created_at, ...}]}`.') } }],
  ['POST /keys/stage', {
    tag: 'keys', summary: 'Stage the next key (published, not signing)', query: [purpose], body: { schema: 'key_stage', optional: true },
    ok: { 201: object('The staged key; `{keys: [...]}` for every algorithm of a keystore of several when no `alg` is given.') },
  }],
  ['POST /keys/:kid/activate', {
    tag: 'keys', summary: 'Sign with a staged key', params: KID, query: [purpose], body: { schema: 'key_activate', optional: true },
    ok: { 200: object('The key, now signing.') },
  }],
  ['POST /keys/rotate', {
    tag: 'keys', summary: 'Rotate at once (emergencies)', query: [purpose], body: { schema: 'key_rotate', optional: true },
    ok: { 201: object('The new key, signing at once; `{keys: [...]}` for every algorithm when no `alg` is given.') },
  }],
  ['POST /keys/:kid/retire', {
    tag: 'keys', summary: 'Retire a key (it leaves jwks)', params: KID, query: [purpose], body: { schema: 'key_retire', optional: true },
    ok: { 200: object('The retired key.') },
  }],
  ['GET /anchors', { tag: 'anchors', summary: 'The pinned trust anchors and their pins', ok: { 200: object('`{anchors: [{entity_id, kids}]}`.') } }],
  ['POST /anchors/refresh', {
    tag: 'anchors', summary: 'Refresh the pins from the anchors\' entity configurations', body: { schema: 'anchor_refresh', optional: true },
    ok: { 200: object('`{anchors: [...]}`: each anchor\'s result, or for all anchors its error.') }, refusals: [404, 503],
  }],
  // Software statements.
  ['GET /software-statements', {
    tag: 'software statements', summary: 'List software statements',
    query: [limit, after, status(STATEMENT_STATUSES), { name: 'software_id', description: 'Only statements of this software.', schema: { type: 'string' } }],
    ok: { 200: page('Statements in jti order') },
  }],
  ['POST /software-statements', { tag: 'software statements', summary: 'Issue a software statement', body: { schema: 'software_statement' }, ok: { 201: object('The statement record with the signed `software_statement`.') } }],
  ['POST /software-statements/revoke', {
    tag: 'software statements', summary: 'Revoke a software statement', body: { schema: 'software_statement_revoke' },
    ok: { 200: object('The statement, `status: revoked`.') }, refusals: [404],
  }],
  // Trust marks (trust_marks.ts).
  ['GET /trust-mark-types', { tag: 'trust marks', summary: 'List the trust mark types this entity issues', ok: { 200: list('Types') } }],
  ['POST /trust-mark-types', {
    tag: 'trust marks', summary: 'Configure a trust mark type', body: { schema: 'trust_mark_type' },
    ok: { 201: object('Created: the type record.'), 200: object('Reconfigured: the type record.') },
  }],
  ['DELETE /trust-mark-types', { tag: 'trust marks', summary: 'Remove a trust mark type (issued marks stay answerable)', query: [trustMarkType(true)], ok: { 204: none('Removed.') }, refusals: [404] }],
  ['GET /trust-marks', {
    tag: 'trust marks', summary: 'List issued trust marks',
    query: [trustMarkType(false), { name: 'sub', description: 'Only marks issued to this entity.', schema: { type: 'string' } }],
    ok: { 200: list('Marks') },
  }],
  ['POST /trust-marks', { tag: 'trust marks', summary: 'Issue a trust mark', body: { schema: 'trust_mark_request' }, ok: { 201: object('`{trust_mark, trust_mark_type, sub, iat, exp?}`.') } }],
  ['POST /trust-marks/revoke', { tag: 'trust marks', summary: 'Revoke a trust mark', body: { schema: 'trust_mark_request' }, ok: { 200: object('The mark, `status: revoked`.') }, refusals: [404] }],
  ['GET /trust-mark-issuers', { tag: 'trust marks', summary: 'The published trust_mark_issuers', ok: { 200: object('Type -> issuers (`{}` when none).') } }],
  ['PUT /trust-mark-issuers', {
    tag: 'trust marks', summary: 'Replace trust_mark_issuers (re-signs the entity configuration)', body: { schema: 'trust_mark_issuers' },
    ok: { 200: object('The published value.') },
  }],
  ['DELETE /trust-mark-issuers', { tag: 'trust marks', summary: 'Forget the stored trust_mark_issuers', ok: { 204: none('Removed.') }, refusals: [404] }],
  ['GET /trust-mark-owners', { tag: 'trust marks', summary: 'The published trust_mark_owners', ok: { 200: object('Type -> `{sub, jwks}` (`{}` when none).') } }],
  ['PUT /trust-mark-owners', {
    tag: 'trust marks', summary: 'Replace trust_mark_owners (re-signs the entity configuration)', body: { schema: 'trust_mark_owners' },
    ok: { 200: object('The published value.') },
  }],
  ['DELETE /trust-mark-owners', { tag: 'trust marks', summary: 'Forget the stored trust_mark_owners', ok: { 204: none('Removed.') }, refusals: [404] }],
  ['POST /trust-mark-delegations', { tag: 'trust marks', summary: 'Delegate issuance of a type this entity owns', body: { schema: 'trust_mark_delegation' }, ok: { 201: object('`{delegation, trust_mark_type, issuer, iat, exp?}`.') } }],
  ['GET /own-trust-marks', { tag: 'trust marks', summary: 'This entity\'s own trust marks', ok: { 200: list('Marks') } }],
  ['POST /own-trust-marks', {
    tag: 'trust marks', summary: 'Add a mark to this entity\'s configuration (submitted, or fetched from its issuer)', body: { schema: 'trust_mark_own' },
    ok: { 201: object('The record (`source: submitted` or `fetched`).') }, refusals: [503],
  }],
  ['DELETE /own-trust-marks', {
    tag: 'trust marks', summary: 'Remove one of this entity\'s own marks',
    query: [trustMarkType(true), { name: 'issuer', description: 'The mark\'s issuer.', schema: { type: 'string' }, required: true }],
    ok: { 204: none('Removed.') }, refusals: [404],
  }],
  ['POST /own-trust-marks/refresh', { tag: 'trust marks', summary: 'Run the refresh pass of this entity\'s own marks now', ok: { 200: object('`{refreshed, dropped, failed}`.') } }],
  // The resolver (endpoints/resolve.ts).
  ['POST /resolve', {
    tag: 'resolve', summary: 'Resolve, discovering outside the unauthenticated bounds (warms the caches)',
    description: 'The parameters of GET /resolve (spec "Resolve Entity"), in the query.',
    query: [
      { name: 'sub', description: 'The entity to resolve.', schema: { type: 'string', format: 'entity-id' }, required: true },
      { name: 'trust_anchor', description: 'A trust anchor to resolve to; may repeat.', schema: { type: 'string', format: 'entity-id' }, required: true, repeated: true },
      { name: 'entity_type', description: 'Only these entity types\' metadata; may repeat.', schema: { type: 'string' }, repeated: true },
    ],
    ok: { 200: { description: 'The signed resolve response, as GET /resolve answers.', mediaType: 'application/resolve-response+jwt', schema: { type: 'string' } } },
    refusals: [404, 429, 503],
  }],
  ['POST /resolve/explain', {
    tag: 'resolve', summary: 'Explain a resolution: the path, the metadata policy step by step, the trust marks kept and dropped, or every path tried',
    description: 'The parameters of GET /resolve, in the query. Resolved afresh, discovering as POST /resolve does; nothing is cached. 200 whether or not a chain resolves (docs/admin-api.md, "Resolve explain").',
    query: [
      { name: 'sub', description: 'The entity to resolve.', schema: { type: 'string', format: 'entity-id' }, required: true },
      { name: 'trust_anchor', description: 'A trust anchor to resolve to; may repeat.', schema: { type: 'string', format: 'entity-id' }, required: true, repeated: true },
      { name: 'entity_type', description: 'Only these entity types\' metadata; may repeat.', schema: { type: 'string' }, repeated: true },
    ],
    ok: { 200: object('`{ok: true, subject, trust_anchor, exp, path, trust_chain, metadata, policy, policy_text, trust_marks: {kept, dropped}}` or `{ok: false, error, error_description, paths}`.') },
    refusals: [429],
  }],
  // Registered clients and initial access tokens (clients.ts).
  ['GET /clients', { tag: 'clients', summary: 'List registered clients', query: [limit, after, status(CLIENT_STATUSES)], ok: { 200: page('Registration summaries in client id order') } }],
  ['GET /clients/:id', { tag: 'clients', summary: 'Show a registration', params: CLIENT, ok: { 200: object('The whole registration (never a credential hash).') } }],
  ['POST /clients/:id/revoke', {
    tag: 'clients', summary: 'Revoke a client (the kill-switch: its tokens, grants and codes go at once)', params: CLIENT,
    body: { schema: 'client_revoke', optional: true }, ok: { 200: object('The registration summary, `status: revoked`.') },
  }],
  ['POST /clients/:id/reinstate', { tag: 'clients', summary: 'Lift a revocation', params: CLIENT, ok: { 204: none('Reinstated.') } }],
  ['GET /initial-access-tokens', { tag: 'initial access tokens', summary: 'List initial access tokens (never the tokens)', ok: { 200: list('Tokens by id') } }],
  ['POST /initial-access-tokens', {
    tag: 'initial access tokens', summary: 'Issue an initial access token', body: { schema: 'initial_access_token', optional: true },
    ok: { 201: object('`{initial_access_token, id, uses, uses_left, exp, ...}`: the token is shown only here.') },
  }],
  ['POST /initial-access-tokens/revoke', {
    tag: 'initial access tokens', summary: 'Revoke an initial access token', body: { schema: 'initial_access_token_revoke' },
    ok: { 204: none('Revoked.') }, refusals: [404],
  }],
  // Operators (operators_routes.ts).
  ['GET /operators', { tag: 'operators', summary: 'List operators (never a token or digest)', ok: { 200: list('Operators') } }],
  ['GET /operators/:name', { tag: 'operators', summary: 'Show an operator', params: OPERATOR, ok: { 200: object('The operator.') } }],
  ['POST /operators', {
    tag: 'operators', summary: 'Add an operator', body: { schema: 'operator' },
    ok: { 201: object('The operator with its `token`, shown this once.') }, refusals: [409],
  }],
  ['POST /operators/:name/disable', { tag: 'operators', summary: 'Disable an operator (its token is refused from now on, also after an enable)', params: OPERATOR, ok: { 200: object('The operator, `status: disabled`.') }, refusals: [409] }],
  ['POST /operators/:name/enable', {
    tag: 'operators', summary: 'Enable a disabled operator, with a new token', params: OPERATOR,
    ok: { 200: object('The operator, active, with its new `token`, shown this once (the token it had stays refused).') }, refusals: [409],
  }],
  ['POST /operators/:name/rotate', { tag: 'operators', summary: 'Give an operator a new token', params: OPERATOR, ok: { 200: object('The operator with its new `token`, shown this once.') }, refusals: [409] }],
  // The operator console's session (console/routes.ts).
  ['GET /session', {
    tag: 'session', summary: 'Who is asking: the operator, its role and the routes it may call',
    ok: { 200: object('`{operator, role, via, entity_id, permissions}`; with a console session also `csrf_token`, `expires_at`, `idle_expires_at`, `idle_seconds`.') },
  }],
  ['DELETE /session', {
    tag: 'session', summary: 'Log out of the operator console (ends the session of the cookie)',
    ok: { 204: none('Logged out; the cookie is cleared.') }, refusals: [400],
  }],
  // Operations.
  ['GET /metrics', {
    tag: 'operations', summary: 'Metrics in the Prometheus text format (with metrics.enabled)',
    ok: { 200: { description: 'The Prometheus text exposition format (docs/operations.md, "Metrics").', mediaType: 'text/plain', schema: { type: 'string' } } },
  }],
  ['GET /openapi.json', {
    tag: 'operations', summary: 'This contract', description: 'The OpenAPI 3.1 document of the admin routes this deployment has, built at start-up.',
    ok: { 200: object('An OpenAPI 3.1 document.') },
  }],
])
