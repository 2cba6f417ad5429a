/**
 * The login and consent pages (OpenID Connect Core 1.0, 3.1.2.3 "Authorization Server
 * Authenticates End-User" and 3.1.2.4 "Authorization Server Obtains End-User
 * Consent/Authorization"). Plain forms with stable names and ids, so scripted browsers
 * (tests, the OpenID Foundation's conformance suite) can drive them: login fields
 * `username`, `password`, submit button `login`; consent buttons `approve` and `deny`; the
 * enterprise sign-in link `upstream`. No scripts, no inline styles.
 */
import type { ClientIdentity } from '../../authorization_server/client_identity.js'
import { html, type Html } from './html.js'

export interface PageBase {
  /** Path of the interaction (`{entity path}/oauth/interaction/{uid}`): forms post below it. */
  action: string
  /** Path of the style sheet. */
  css: string
}

function layout(base: PageBase, title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title}</title>
<link rel="stylesheet" href="${base.css}">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`.text
}

const who = (c: ClientIdentity) => c.organization_name ?? c.client_name ?? c.client_id

export interface LoginPage extends PageBase {
  client: ClientIdentity
  /** The enterprise OpenID Provider's display name, when one is configured (offered first). */
  upstream?: string
  /** Users can sign in with a name and password. */
  passwords: boolean
  error?: string
  username?: string
}

export function loginPage(p: LoginPage): string {
  return layout(p, 'Sign in', html`
<h1>Sign in</h1>
<p>to continue to <strong>${who(p.client)}</strong></p>
${p.error ? html`<p class="error" id="error" role="alert">${p.error}</p>` : ''}
${p.upstream ? html`<a class="button primary sso" id="upstream" href="${p.action}/upstream/start">Sign in with ${p.upstream}</a>` : ''}
${p.upstream && p.passwords ? html`<p class="divider">or</p>` : ''}
${p.passwords ? html`<form method="post" action="${p.action}/login" autocomplete="on">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${p.username ?? ''}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" id="login" name="login" value="login" class="${p.upstream ? '' : 'primary'}">Sign in</button>
</form>` : ''}
<form method="post" action="${p.action}/abort" class="inline">
<button type="submit" id="cancel" name="cancel" value="cancel">Cancel</button>
</form>
`)
}

export interface ConsentPage extends PageBase {
  client: ClientIdentity
  /** Scopes the client asks for. */
  scopes: string[]
  /** Resource indicators (RFC 8707) the client asks for, if any. */
  resources: string[]
  /** The signed-in user, as shown. */
  user: string
}

export function consentPage(p: ConsentPage): string {
  const c = p.client
  return layout(p, 'Authorize access', html`
<h1>Authorize access</h1>
<div class="client">
${c.logo_uri ? html`<img src="${c.logo_uri}" alt="" id="client-logo" referrerpolicy="no-referrer">` : ''}
<div>
<strong id="client-organization">${who(c)}</strong>
${c.client_name && c.client_name !== who(c) ? html`<div id="client-name">${c.client_name}</div>` : ''}
<div class="muted" id="client-id">${c.client_id}</div>
</div>
</div>
<p>wants to access your account <strong>${p.user}</strong>.</p>
${c.federated
  ? html`<h2>Vouched for by the federation</h2>
${c.vouched_by ? html`<p class="muted" id="metadata-document">Identified by its metadata document; the federation member <strong>${c.vouched_by}</strong> vouches for it.</p>` : ''}
<ol class="chain" id="trust-chain">${c.chain.map((e, i) => html`<li>${e}${i === 0 ? (c.vouched_by ? ' (vouches for the client)' : ' (the client)') : i === c.chain.length - 1 ? ' (trust anchor)' : ''}</li>`)}</ol>
<h2>Trust marks</h2>
${c.trust_marks.length
  ? html`<ul id="trust-marks">${c.trust_marks.map((m) => html`<li>${m.trust_mark_type} <span class="muted">issued by ${m.trust_mark_issuer}</span></li>`)}</ul>`
  : html`<p class="muted" id="trust-marks">none</p>`}`
  : html`<p class="warning" id="not-federated">This client is not registered through a trust chain.</p>`}
<h2>It asks for</h2>
<ul id="scopes">${p.scopes.map((s) => html`<li>${s}</li>`)}</ul>
${p.resources.length ? html`<h2>At</h2><ul id="resources">${p.resources.map((r) => html`<li>${r}</li>`)}</ul>` : ''}
${c.redirect_hosts.length ? html`<p class="muted" id="redirect-hosts">You will be sent back to ${c.redirect_hosts.join(', ')}.</p>` : ''}
<form method="post" action="${p.action}/consent">
<button type="submit" id="approve" name="decision" value="approve" class="primary">Allow</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
`)
}

export function errorPage(base: Pick<PageBase, 'css'>, message: string): string {
  return layout({ action: '', css: base.css }, 'Sign-in problem', html`
<h1>Sign-in problem</h1>
<p class="error" id="error">${message}</p>
<p>Return to the application and start again.</p>
`)
}

/** oidc-provider's error page (its `renderError`): the OAuth error code as literal text, then the description. */
export function providerErrorPage(base: Pick<PageBase, 'css'>, out: { error?: unknown; error_description?: unknown }): string {
  const code = typeof out.error === 'string' ? out.error : 'server_error'
  const description = typeof out.error_description === 'string' ? out.error_description : ''
  return layout({ action: '', css: base.css }, 'Sign-in problem', html`
<h1>Sign-in problem</h1>
<p class="error" id="error">${code}</p>
${description ? html`<p id="error-description">${description}</p>` : ''}
<p>Return to the application and start again.</p>
`)
}
