/**
 * A scripted browser for the login and consent pages (the demo's user, the benchmark's
 * round trips, the tests): fetch with a cookie jar
 * (cookies kept per origin, name and path, sent only below their path, as browsers do;
 * oidc-provider relies on that for its interaction cookie), redirects followed one by one
 * (so a test sees each hop and can stop at the client's redirect_uri), form POSTs with the
 * headers a browser sends for a same-origin form (Origin, Sec-Fetch-Site).
 */
interface Cookie { origin: string; name: string; value: string; path: string }

export interface Page {
  url: string
  status: number
  headers: Headers
  body: string
}

export class Browser {
  private cookies: Cookie[] = []

  /** The Cookie header this browser sends to `url`. */
  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.origin === url.origin && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`).join('; ')
  }

  private remember(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim())
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/'
      let expired = value === ''
      for (const a of attrs) {
        const [k, v = ''] = a.split('=')
        if (k!.toLowerCase() === 'path') path = v
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true
        if (k!.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true
      }
      this.cookies = this.cookies.filter((c) => !(c.origin === url.origin && c.name === name && c.path === path))
      if (!expired) this.cookies.push({ origin: url.origin, name, value, path })
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const u = new URL(url)
    const headers: Record<string, string> = { ...init.headers }
    const cookie = this.cookieHeader(u)
    if (cookie) headers.cookie = cookie
    let body: string | undefined
    if (init.form) {
      body = new URLSearchParams(init.form).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers.origin ??= u.origin
      headers['sec-fetch-site'] ??= 'same-origin'
    }
    const res = await fetch(u, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' })
    this.remember(u, res)
    return { url: u.href, status: res.status, headers: res.headers, body: await res.text() }
  }

  /**
   * Follows redirects from `page` until an answer that is not one, or until the Location
   * starts with `stopAt` (the client's redirect_uri: returned as a page whose url is it).
   */
  async follow(page: Page, stopAt?: string, hops = 20): Promise<Page> {
    let p = page
    for (let i = 0; i < hops && p.status >= 300 && p.status < 400; i++) {
      const next = new URL(p.headers.get('location')!, p.url).href
      if (stopAt && next.startsWith(stopAt)) return { url: next, status: 0, headers: new Headers(), body: '' }
      p = await this.request(next)
    }
    return p
  }

  async go(url: string, stopAt?: string): Promise<Page> {
    return this.follow(await this.request(url), stopAt)
  }

  /** Posts a form (as a browser would from a page of the same origin) and follows the redirects. */
  async submit(url: string, form: Record<string, string>, stopAt?: string): Promise<Page> {
    return this.follow(await this.request(url, { form }), stopAt)
  }
}

/** The `action` of the page's form posting to a path ending in `suffix`, absolute. */
export function formAction(page: Page, suffix: string): string {
  for (const m of page.body.matchAll(/<form[^>]*\saction="([^"]*)"/g)) {
    const action = m[1]!.replace(/&amp;/g, '&')
    if (action.endsWith(suffix)) return new URL(action, page.url).href
  }
  throw new Error(`no form posting to …${suffix} on ${page.url} (status ${page.status}):\n${page.body.slice(0, 2000)}`)
}

/** The `href` of the element with id `id`, absolute. */
export function linkById(page: Page, id: string): string {
  const m = new RegExp(`<a[^>]*\\sid="${id}"[^>]*\\shref="([^"]*)"`).exec(page.body) ?? new RegExp(`<a[^>]*\\shref="([^"]*)"[^>]*\\sid="${id}"`).exec(page.body)
  if (!m) throw new Error(`no link #${id} on ${page.url}`)
  return new URL(m[1]!.replace(/&amp;/g, '&'), page.url).href
}
