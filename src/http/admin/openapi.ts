/**
 * The admin API's OpenAPI 3.1 contract (docs/admin-api.md, "The OpenAPI contract"), served at
 * `GET {entity path}/admin/openapi.json`. Built once at start-up from what the server runs:
 * the admin routes the router has (so a capability that is off contributes nothing), the role
 * each requires (roles.ts), what operations.ts says of each, and, for request bodies, the
 * JSON Schemas the server validates them with (schemas/, as compiled: config/schemas.ts).
 *
 * The body schemas go into `components.schemas` as they are, with three mechanical changes
 * that keep their meaning and let tools resolve them without the network: `$schema` and `$id`
 * are dropped (the document is one resource), each `definitions` member becomes a component
 * of its own (`subordinate.jwks`), and every `$ref` (relative to the schema's `$id`) points
 * at the component it resolves to (`#/components/schemas/subordinate.jwks`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Router from '@koa/router'
import { compiledSchemas, PACKAGE_ROOT } from '../../config/schemas.js'
import { ADMIN_OPERATIONS, ERROR_SCHEMA, PAGE_SCHEMA, TAGS, type AdminOperation, type JsonSchema } from './operations.js'
import type { AdminRoute } from './roles.js'
import { CSRF_HEADER, SESSION_COOKIE } from '../console/sessions.js'

export const OPENAPI_VERSION = '3.1.1'

/** Refusals by status: the component answering it and what it means here. */
const REFUSALS: ReadonlyMap<number, { name: string; description: string }> = new Map([
  [400, { name: 'BadRequest', description: '`invalid_request` (or another 400 code): a body its schema refuses, a bad or repeated query parameter; the description names the field.' }],
  [401, { name: 'Unauthorized', description: '`unauthorized`: no token, an unknown one, a disabled operator\'s, or a console session that has ended (`WWW-Authenticate: Bearer`).' }],
  [403, { name: 'Forbidden', description: '`insufficient_scope`: the operator\'s role is below the route\'s; `forbidden`: a change made with the console session without its CSRF token.' }],
  [404, { name: 'NotFound', description: '`not_found` (or `invalid_trust_anchor`, ...): what the path or body names does not exist here.' }],
  [409, { name: 'Conflict', description: '`conflict`: the change collides with the current state (already there, changed meanwhile, last admin).' }],
  [413, { name: 'PayloadTooLarge', description: '`payload_too_large`: the body is over `server.max_body_bytes`.' }],
  [415, { name: 'UnsupportedMediaType', description: '`unsupported_media_type`: a body that is not `application/json`.' }],
  [429, { name: 'TooManyRequests', description: '`too_many_requests`: as many of these as an instance runs at once are running (an onboarding preview: `subordinates.preview_concurrency`); try again when one has finished.' }],
  [503, { name: 'Unavailable', description: '`temporarily_unavailable`: an entity this needs could not be reached in time.' }],
])

/** An operator's bearer token, or the console's session cookie (auth.ts). */
const SECURITY = [{ bearer: [] }, { consoleSession: [] }]

const ROLE_TEXT = {
  auditor: 'auditor (every operator may call it)',
  operator: 'operator (or admin)',
  admin: 'admin',
} as const

export interface ContractInput {
  /** Every admin route with its role, as routed (applyRoles). */
  routes: readonly AdminRoute[]
  /** `{entity path}/admin`: where the routes are, relative to the listener's origin. */
  adminPath: string
}

/** The OpenAPI 3.1 document of the admin routes. Throws when a routed route has no entry in operations.ts. */
export function openApiDocument({ routes, adminPath }: ContractInput): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  const bodies = new Set<string>()
  for (const route of routes) {
    const key = `${route.method} ${route.path}`
    const op = ADMIN_OPERATIONS.get(key)
    if (!op) throw new Error(`admin route ${key} has no entry in src/http/admin/operations.ts (the OpenAPI contract)`)
    if (op.body) bodies.add(op.body.schema)
    const template = route.path.replace(/:(\w+)/g, '{$1}')
    ;(paths[template] ??= {})[route.method.toLowerCase()] = operation(route, op)
  }
  const components: Record<string, unknown> = {
    schemas: { ...bodySchemas(bodies), Error: ERROR_SCHEMA, Page: PAGE_SCHEMA },
    responses: Object.fromEntries([...REFUSALS.values()].map(({ name, description }) => [name, errorAnswer(description)])),
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A named operator\'s token (`anchorage operators add`; the first is `admin.token` from `anchorage init`).' },
      consoleSession: {
        type: 'apiKey', in: 'cookie', name: SESSION_COOKIE,
        description: `The operator console's session (docs/console.md), for the console's own pages: a request with an Authorization header is judged by it alone, and a change (any method but GET and HEAD) also needs the session's CSRF token in ${CSRF_HEADER}.`,
      },
    },
  }
  const used = new Set(routes.map((r) => ADMIN_OPERATIONS.get(`${r.method} ${r.path}`)!.tag))
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'Anchorage admin API',
      version: packageVersion(),
      description: [
        'The admin API of this Anchorage deployment (docs/admin-api.md), as this deployment routes it: routes of capabilities that are off are absent.',
        'Every route needs `Authorization: Bearer <token>`, a named operator\'s token (or the operator console\'s session), and a role: auditor < operator < admin (each operation\'s `x-anchorage-role`).',
        'Request bodies are JSON, validated by the schemas in `components.schemas` (the files of the package\'s schemas/ folder). Their formats `entity-id` (an http(s) URL with a host, no query, fragment or userinfo) and `uri` (an absolute URL) are checked by the server.',
        'Every refusal is `{error, error_description}` (`components.schemas.Error`).',
      ].join('\n\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: adminPath, description: 'The admin API, on the listener that served this document' }],
    security: SECURITY,
    tags: TAGS.filter((t) => used.has(t.name)),
    paths,
    components,
  }
}

function operation(route: AdminRoute, op: AdminOperation): Record<string, unknown> {
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)
  const parameters: Array<Record<string, unknown>> = names.map((name) => {
    const description = op.params?.[name]
    if (description === undefined) throw new Error(`admin route ${route.method} ${route.path}: path parameter ${name} is not described in src/http/admin/operations.ts`)
    return { name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } }
  })
  for (const q of op.query ?? []) {
    parameters.push({
      name: q.name, in: 'query', description: q.description, required: q.required === true,
      schema: q.repeated ? { type: 'array', items: q.schema } : q.schema,
      ...(q.repeated ? { style: 'form', explode: true } : {}),
    })
  }
  const responses: Record<string, unknown> = {}
  for (const [status, answer] of Object.entries(op.ok)) {
    responses[status] = {
      description: answer.description,
      ...(answer.schema ? { content: { [answer.mediaType ?? 'application/json']: { schema: answer.schema } } } : {}),
    }
  }
  const refusals = new Set<number>([401, ...(op.refusals ?? [])])
  if (op.body || parameters.some((p) => p.in === 'query')) refusals.add(400)
  if (op.body) [413, 415].forEach((s) => refusals.add(s))
  // Below the route's role; or, with the console session, a change without its CSRF token.
  if (route.role !== 'auditor' || route.method !== 'GET') refusals.add(403)
  if (names.length) refusals.add(404)
  for (const status of [...refusals].sort((a, b) => a - b)) {
    const r = REFUSALS.get(status)
    if (!r) throw new Error(`admin route ${route.method} ${route.path}: no refusal ${status} in src/http/admin/openapi.ts`)
    responses[String(status)] = { $ref: `#/components/responses/${r.name}` }
  }
  responses.default = errorAnswer('Any other refusal or failure, in the same error JSON.')
  const requires = `Requires the ${ROLE_TEXT[route.role]} role.`
  return {
    tags: [op.tag],
    summary: op.summary,
    description: op.description ? `${op.description}\n\n${requires}` : requires,
    operationId: operationId(route),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? {
      requestBody: {
        required: op.body.optional !== true,
        ...(op.body.optional ? { description: 'Optional: none (or an empty body) is `{}`.' } : {}),
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.body.schema}` } } },
      },
    } : {}),
    responses,
    security: SECURITY,
    'x-anchorage-role': route.role,
  }
}

/** `POST /subordinates/:id/suspend` -> `postSubordinatesIdSuspend`. */
function operationId(route: AdminRoute): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean)
  return route.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

function errorAnswer(description: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
}

/**
 * The named body schemas and every schema they refer to, as components (see the top). Throws
 * on a reference it cannot place: to a schema not in schemas/, or to a part of one that is not
 * the whole or a `definitions` member.
 */
export function bodySchemas(names: Iterable<string>): Record<string, JsonSchema> {
  const sources = compiledSchemas()
  const base = (name: string): string => {
    const id = sources.get(name)?.$id
    return typeof id === 'string' ? id : `https://anchorage.invalid/schemas/${name}.schema.json`
  }
  const byBase = new Map([...sources.keys()].map((name) => [base(name), name]))
  const out: Record<string, JsonSchema> = {}
  const queue: Array<{ name: string; definition?: string }> = [...names].map((name) => ({ name }))
  while (queue.length) {
    const { name, definition } = queue.shift()!
    const key = definition === undefined ? name : `${name}.${definition}`
    if (Object.hasOwn(out, key)) continue
    const source = sources.get(name)
    if (!source) throw new Error(`no schema schemas/${name}.schema.json`)
    const target = definition === undefined ? source : (source.definitions as Record<string, unknown> | undefined)?.[definition]
    if (target === undefined) throw new Error(`schemas/${name}.schema.json has no definitions/${definition}`)
    const place = (ref: string): string => {
      const url = new URL(ref, base(name))
      const to = byBase.get(url.href.slice(0, url.href.length - url.hash.length))
      const m = /^#?(?:\/definitions\/([^/]+))?$/.exec(url.hash)
      if (to === undefined || !m) throw new Error(`schemas/${name}.schema.json: $ref ${ref} is not to a schema of schemas/ or one of its definitions`)
      queue.push({ name: to, ...(m[1] !== undefined ? { definition: decodeURIComponent(m[1]) } : {}) })
      return `#/components/schemas/${m[1] === undefined ? to : `${to}.${decodeURIComponent(m[1])}`}`
    }
    out[key] = rewrite(target, place, definition === undefined) as JsonSchema
  }
  return out
}

/** Values that are data, not schemas: copied as they are. */
const DATA = new Set(['enum', 'const', 'default', 'examples'])

function rewrite(node: unknown, place: (ref: string) => string, top: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, place, false))
  if (typeof node !== 'object' || node === null) return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (top && (k === '$schema' || k === '$id' || k === 'definitions')) continue
    if (!top && k === '$id' && typeof v === 'string') throw new Error(`a nested $id (${v}) in a body schema: not supported by the contract`)
    if (k === '$ref' && typeof v === 'string') out[k] = place(v)
    else out[k] = DATA.has(k) ? structuredClone(v) : rewrite(v, place, false)
  }
  return out
}

let version: string | undefined
function packageVersion(): string {
  return (version ??= String((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version))
}

/**
 * Routes `GET {admin}/openapi.json`; returns the setter of the document it serves, called once
 * the admin routes are final (they include this one), before the listener accepts.
 */
export function openApiRoute(admin: Router): (document: Record<string, unknown>) => void {
  let body: Buffer | undefined
  admin.get('admin_openapi', '/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-store')
    ctx.type = 'application/json'
    ctx.body = body
  })
  return (document) => {
    body = Buffer.from(JSON.stringify(document))
  }
}
