// The admin API, as the console calls it: the session cookie (sent by the browser, never
// readable here) and, on every change, the session's CSRF token in X-CSRF-Token.

/** `{entity path}/admin/`, from the console's own URL (`{entity path}/console/`). */
export const ADMIN = new URL('../admin/', document.baseURI)
export const LOGIN = new URL('login', document.baseURI)

let session

export class ApiError extends Error {
  constructor(status, body) {
    const description = body && typeof body === 'object' && typeof body.error_description === 'string' ? body.error_description : `HTTP ${status}`
    super(description)
    this.status = status
    this.body = body
    this.code = body && typeof body === 'object' && typeof body.error === 'string' ? body.error : undefined
  }
}

/**
 * One admin API call. `path` is below /admin (`subordinates`, `audit`), `query` an object of
 * parameters (arrays repeat), `body` JSON. Answers `{ status, body, text, type }`; throws
 * ApiError for an error answer. A 401 (session ended) goes to the login page.
 */
export async function api(method, path, { query, body, raw } = {}) {
  const url = new URL(path, ADMIN)
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const one of [v].flat()) if (one !== undefined && one !== '') url.searchParams.append(k, String(one))
  }
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && session?.csrf_token) headers['x-csrf-token'] = session.csrf_token
  const res = await fetch(url, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  let parsed = text
  if (type.startsWith('application/json') && text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
    }
  }
  if (res.status === 401 && session?.via === 'session') {
    location.assign(LOGIN)
    throw new ApiError(401, parsed)
  }
  if (!res.ok) throw new ApiError(res.status, parsed)
  return { status: res.status, body: raw ? text : parsed, text, type, headers: res.headers }
}

/** Who is logged in: `{operator, role, via, permissions, csrf_token, entity_id, ...}`. */
export async function loadSession() {
  const res = await fetch(new URL('session', ADMIN), { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
  if (res.status === 401) return undefined
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined))
  session = await res.json()
  return session
}

export const currentSession = () => session

/** Whether the operator's role may call a route (`POST /subordinates/:id/suspend`): the API decides anyway. */
export function can(route) {
  return Boolean(session?.permissions?.includes(route))
}

export async function logout() {
  await api('DELETE', 'session').catch(() => undefined)
  location.assign(LOGIN)
}

/** The payload of a compact JWS, decoded (not verified: the server verified what it answered). */
export function decodeJwt(jwt) {
  const [h, p] = String(jwt).split('.')
  const part = (s) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))))
  return { header: part(h), payload: part(p) }
}
