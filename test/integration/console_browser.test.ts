/**
 * The operator console end to end, in headless Chromium (test/support/chromium.ts), on a
 * real federation on loopback: an Anchorage trust anchor with its admin plane and a leaf
 * that publishes its entity configuration. An operator logs in, onboards the leaf, sees it
 * resolve, suspends it, sees the resolution fail with the reason, and finds both actions in
 * the audit log; an auditor sees no action; a change sent with the session cookie but
 * without the CSRF token is refused. Every view passes axe-core and raises no Content
 * Security Policy violation; screenshots go to test/artifacts/console/ (ignored by git).
 */
import { strict as assert } from 'node:assert'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { signStatement, startEntity, startLeaf, testKey, type TestEntity, type TestLeaf } from '../support/entity.js'
import { chromiumMissing, launchChromium } from '../support/chromium.js'

const SELF_MARK = 'https://leaf.example/tm/self-issued'
const FORGED_MARK = 'https://leaf.example/tm/forged'
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'console')
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface AxeResult { violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown }> }> }

/** axe-core on the page as it is (WCAG 2 A and AA rules): no violation. */
async function accessible(page: Page, view: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE)
  const result = await page.evaluate(() => (globalThis as unknown as { axe: { run(o: unknown): Promise<AxeResult> } }).axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }))
  assert.deepEqual(result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`), [], `accessibility of ${view}`)
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

describe('the operator console in Chromium', function () {
  this.timeout(180_000)
  let browser: Browser
  let anchor: TestEntity
  let leaf: TestLeaf
  let console_: string
  let operatorToken: string
  let auditorToken: string
  const problems: string[] = []

  before(async function () {
    const missing = chromiumMissing()
    if (missing) {
      console.log(`      skipped: ${missing}`)
      this.skip()
    }
    mkdirSync(ARTIFACTS, { recursive: true })
    // With the authorization server role, so the clients view has its routes.
    anchor = await startEntity({ adminListen: '127.0.0.1:0', config: { authorization_server: { resources: ['https://mcp.example/api'] } } })
    leaf = await startLeaf({ clock: anchor.clock, authority_hints: [anchor.entityId], metadata: { federation_entity: { organization_name: 'Leaf Org' }, openid_relying_party: { client_name: 'Leaf RP', redirect_uris: ['https://leaf.example/cb'] } } })
    // Two trust marks in the leaf's configuration: one it issued itself (no trust_mark_issuers
    // restrict issuers here, so resolution keeps it) and one whose signature is by a key its
    // issuer does not publish (dropped, with the reason).
    const now = anchor.clock.now()
    const mark = (type: string, key: typeof leaf.key) => signStatement({ iss: leaf.entityId, sub: leaf.entityId, trust_mark_type: type, iat: now, exp: now + 86_400 }, key, { typ: 'trust-mark+jwt' })
    leaf.claims.trust_marks = [
      { trust_mark_type: SELF_MARK, trust_mark: await mark(SELF_MARK, leaf.key) },
      { trust_mark_type: FORGED_MARK, trust_mark: await mark(FORGED_MARK, await testKey()) },
    ]
    console_ = `${anchor.adminUrl!}/console/`
    operatorToken = (await anchor.admin('POST', '/admin/operators', { name: 'olga', role: 'operator' })).body.token as string
    auditorToken = (await anchor.admin('POST', '/admin/operators', { name: 'audrey', role: 'auditor' })).body.token as string
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
    await leaf?.stop()
    await anchor?.stop()
  })

  /** A fresh browser profile logged in with the token; CSP violations and script errors are collected. */
  async function loggedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    page.on('console', (m) => {
      // Error answers the views show (a refused field, a failed resolution) are logged by Chromium as failed loads: not problems.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`script error: ${err.message}`))
    await page.goto(console_)
    // No session yet: the console sends the browser to its login page.
    await page.waitForURL(/\/console\/login$/)
    await page.getByLabel('Operator token').fill(token)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(/\/console\/(#.*)?$/)
    await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor()
    return { context, page }
  }

  it('logs in, onboards the leaf, sees it resolve, suspends it, sees resolution fail with the reason, and finds both in the audit log', async () => {
    const { context, page } = await loggedIn(operatorToken)
    try {
      // The login page, as a new visitor sees it.
      const visitor = await browser.newPage()
      await visitor.goto(`${console_}login`)
      await accessible(visitor, 'login')
      await shot(visitor, '01-login')
      await visitor.close()

      await page.getByText('olga (operator)').waitFor()
      const cookies = await context.cookies()
      const session = cookies.find((c) => c.name === 'anchorage_console')
      assert.ok(session, 'the session cookie')
      assert.equal(session.httpOnly, true)
      assert.equal(session.sameSite, 'Strict')
      assert.equal(session.path, '/admin')
      assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read the session cookie')
      await page.getByText('No members yet.').waitFor()
      await accessible(page, 'members (empty)')
      await shot(page, '02-members-empty')

      // Onboard the leaf: the form posts to the admin API with the session's CSRF token.
      await page.getByRole('link', { name: 'Onboard', exact: true }).click()
      await page.getByRole('heading', { level: 1, name: 'Onboard a member' }).waitFor()
      await accessible(page, 'onboarding')
      // A field the API refuses: its 400 is shown beside that field.
      await page.getByLabel('Entity id').fill(leaf.entityId)
      await page.getByLabel('Constraints (optional)').fill('{"max_path_length": -1}')
      await page.getByRole('button', { name: 'Onboard', exact: true }).click()
      await page.locator('#f-constraints-error').getByText(/constraints\.max_path_length: must be >= 0/).waitFor()
      assert.equal(await page.getByLabel('Constraints (optional)').getAttribute('aria-invalid'), 'true')
      await shot(page, '03-onboard-field-error')
      await page.getByLabel('Constraints (optional)').fill('')
      // Its entity configuration, fetched and checked by the API before anything is written.
      await page.getByRole('button', { name: 'Fetch its entity configuration' }).click()
      const preview = page.getByTestId('preview')
      await preview.getByText('Acceptable: onboarding would take the following from it.').waitFor()
      assert.match(await preview.innerText(), /Leaf Org/)
      assert.ok((await preview.innerText()).includes(leaf.key.kid), 'the key onboarding would take')
      assert.equal((await anchor.admin('GET', `/admin/subordinates/${encodeURIComponent(leaf.entityId)}`)).status, 404, 'the preview wrote nothing')
      await accessible(page, 'onboarding preview')
      await shot(page, '04-onboard-preview')
      await page.getByLabel('Metadata policy (optional)').fill(JSON.stringify({ openid_relying_party: { client_name: { value: 'Leaf RP (vetted)' } } }))
      await page.getByRole('button', { name: 'Onboard', exact: true }).click()

      // The member page.
      await page.getByRole('heading', { level: 1, name: leaf.entityId }).waitFor()
      await page.getByRole('heading', { name: /^Subordinate statement \(this entity's/ }).waitFor()
      await page.getByRole('heading', { name: 'Entity configuration (the member\'s)' }).waitFor()
      await accessible(page, 'member')
      await shot(page, '05-member')

      // It resolves.
      await page.getByRole('link', { name: 'Resolve it' }).click()
      await page.getByTestId('resolve-ok').waitFor()
      const chain = await page.getByRole('list', { name: 'Trust chain, subject first' }).innerText()
      assert.ok(chain.includes(leaf.entityId) && chain.includes(anchor.entityId), chain)
      // The policy step by step (POST /admin/resolve/explain): the anchor's statement contributes
      // it, and applying it turns the leaf's client_name into the vetted one.
      const merged = await page.getByRole('table', { name: 'Policies merged, per parameter' }).innerText()
      assert.match(merged, /openid_relying_party\.client_name\s+value[\s\S]*"Leaf RP \(vetted\)"/)
      const applied = await page.getByRole('table', { name: 'Policy applied to the subject\'s metadata' }).innerText()
      assert.match(applied, /value "Leaf RP \(vetted\)": "Leaf RP" → "Leaf RP \(vetted\)"/)
      assert.match(await page.locator('section[aria-label="Result"]').innerText(), /"client_name": "Leaf RP \(vetted\)"/)
      const marks = await page.getByRole('table', { name: 'Trust marks kept and dropped' }).innerText()
      assert.ok(marks.includes(`${SELF_MARK}\tkept\tverified, issued by ${leaf.entityId}`), marks)
      assert.match(marks.split('\n').find((l) => l.startsWith(FORGED_MARK)) ?? '', /\tdropped\t\S+/, marks)
      await accessible(page, 'resolve')
      await shot(page, '06-resolve-ok')

      // Suspend it, after a confirmation that says what stops working.
      await page.goto(`${console_}#/members/${encodeURIComponent(leaf.entityId)}`)
      await page.getByRole('button', { name: 'Suspend' }).click()
      const dialog = page.getByTestId('confirm')
      await dialog.getByText(/stop resolving/).waitFor()
      // What stops, counted by the API (GET .../dependents): its own chain, no client registered through it yet.
      await dialog.getByText('Stops: 1 trust chain (its own); 0 active clients registered through it, holding 0 active tokens.').waitFor()
      await accessible(page, 'confirmation')
      await shot(page, '07-suspend-confirm')
      await dialog.getByRole('button', { name: 'Suspend' }).click()
      await page.locator('.status.suspended').first().waitFor()
      await page.getByRole('button', { name: 'Reinstate' }).waitFor()

      // Resolution now fails, with the reason.
      await page.goto(`${console_}#/resolve?sub=${encodeURIComponent(leaf.entityId)}&trust_anchor=${encodeURIComponent(anchor.entityId)}`)
      const failure = page.getByTestId('resolve-failure')
      await failure.waitFor()
      const reason = await failure.innerText()
      assert.match(reason, /invalid_trust_chain/, reason)
      assert.ok(reason.includes(leaf.entityId), reason)
      // Every path tried, with the statement and the rule that failed.
      const tried = await page.getByRole('table', { name: 'Every path tried' }).innerText()
      assert.match(tried, /not_found|is not a subordinate/, tried)
      await accessible(page, 'resolve failure')
      await shot(page, '08-resolve-failed')

      // Both actions in the audit log, by olga.
      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.getByLabel('Subject').fill(leaf.entityId)
      await page.getByRole('button', { name: 'Filter' }).click()
      await page.waitForURL(/subject=/)
      const rows = page.locator('tbody tr')
      await rows.first().waitFor()
      const text = await page.locator('tbody').innerText()
      assert.match(text, /olga\s+subordinate\.add/)
      assert.match(text, /olga\s+subordinate\.suspend/)
      await accessible(page, 'audit log')
      await shot(page, '09-audit')

      // The members list shows it suspended.
      await page.getByRole('link', { name: 'Members', exact: true }).click()
      await page.getByRole('link', { name: leaf.entityId }).waitFor()
      await accessible(page, 'members')
      await shot(page, '10-members')

      // A change sent with the session cookie but without the CSRF token: 403 (SameSite aside,
      // as a page of the console's own origin could send it).
      const forged = await page.evaluate(async (url) => {
        const r = await fetch(url, { method: 'POST', credentials: 'same-origin' })
        return { status: r.status, body: await r.json() }
      }, `${anchor.adminUrl!}/admin/subordinates/${encodeURIComponent(leaf.entityId)}/reinstate`)
      assert.equal(forged.status, 403)
      assert.equal((forged.body as { error: string }).error, 'forbidden')
      assert.equal((await anchor.admin('GET', `/admin/subordinates/${encodeURIComponent(leaf.entityId)}`)).body.status, 'suspended', 'still suspended')
      // Logout ends the session.
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL(/\/console\/login$/)
      const after = await fetch(`${anchor.adminUrl!}/admin/session`, { headers: { cookie: `anchorage_console=${session.value}` } })
      assert.equal(after.status, 401)
    } finally {
      await context.close()
    }
    assert.deepEqual(problems, [])
  })

  it('shows an auditor every view but no action', async () => {
    const { context, page } = await loggedIn(auditorToken)
    try {
      await page.getByText('audrey (auditor)').waitFor()
      assert.equal(await page.getByRole('link', { name: 'Onboard', exact: true }).count(), 0)
      assert.equal(await page.getByRole('link', { name: 'Onboard a member' }).count(), 0)
      await page.getByRole('link', { name: leaf.entityId }).click()
      await page.getByRole('heading', { level: 1, name: leaf.entityId }).waitFor()
      await page.getByRole('heading', { name: 'Audit trail' }).waitFor()
      for (const name of ['Suspend', 'Reinstate', 'Remove', 'Approve keys', 'Reject keys']) {
        assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button for an auditor`)
      }
      await accessible(page, 'member (auditor)')
      await shot(page, '11-member-auditor')
      await page.goto(`${console_}#/onboard`)
      await page.getByText('Your role cannot onboard members').waitFor()
      // Reads work: the audit log and resolution.
      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.locator('tbody tr').first().waitFor()
    } finally {
      await context.close()
    }
    assert.deepEqual(problems, [])
  })

  it('says when a member\'s audit trail is longer than the page it shows, and links to the rest', async () => {
    // A member (the first case onboards it from the console; run alone, this one does).
    if ((await anchor.admin('GET', `/admin/subordinates/${encodeURIComponent(leaf.entityId)}`)).status === 404) {
      assert.equal((await anchor.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })).status, 201)
    }
    for (let i = 0; i < 105; i++) await anchor.federation.audit.record('bulk', 'bulk.event', 'success', leaf.entityId)
    const { context, page } = await loggedIn(auditorToken)
    try {
      await page.goto(`${console_}#/members/${encodeURIComponent(leaf.entityId)}`)
      await page.getByRole('heading', { name: 'Audit trail' }).waitFor()
      const more = page.getByRole('link', { name: /The events after these/ })
      await more.waitFor()
      await more.click()
      await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor()
      await page.locator('tbody tr').first().waitFor()
      assert.match(await page.locator('tbody').innerText(), /bulk\s+bulk\.event/)
    } finally {
      await context.close()
    }
    assert.deepEqual(problems, [])
  })

  it('gives an admin the search and tree, a pending key change to approve, keys, trust marks and clients, accessible', async () => {
    const { context, page } = await loggedIn(anchor.token)
    try {
      await page.getByText('admin (admin)').waitFor()
      // Paging: 55 more members (keys given, so nothing is fetched): 50 a page, Next, Previous, by cursor.
      const jwks = { keys: [leaf.key.publicJwk] }
      for (let i = 0; i < 55; i++) {
        const r = await anchor.admin('POST', '/admin/subordinates', { entity_id: `https://m${String(i).padStart(2, '0')}.example.org`, jwks })
        assert.equal(r.status, 201, JSON.stringify(r.body))
      }
      await page.reload()
      const rows = page.locator('tbody tr')
      await page.getByRole('link', { name: 'Next →' }).waitFor()
      assert.equal(await rows.count(), 50)
      await page.getByRole('link', { name: 'Next →' }).click()
      await page.getByRole('link', { name: '← Previous' }).waitFor()
      assert.equal(await rows.count(), 6, 'the last six')
      assert.equal(await page.getByRole('link', { name: 'Next →' }).count(), 0)
      await page.getByRole('link', { name: '← Previous' }).click()
      await page.getByRole('link', { name: 'Next →' }).waitFor()
      assert.equal(await rows.count(), 50)
      assert.equal(await page.locator('tbody tr').first().innerText().then((t) => t.startsWith('http://127.0.0.1')), true, 'the first page again, in entity id order')
      // Search: an entity id prefix and the filters travel in the route, and the answer is paged.
      // The tree's next level: an intermediate's row opens what is known below it.
      assert.equal((await anchor.admin('POST', '/admin/subordinates', { entity_id: 'https://ia.example.org', jwks, intermediate: true })).status, 201)
      await page.getByLabel('Entity id starts with').fill('ia.')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.getByRole('button', { name: 'yes: show below' }).click()
      await page.getByText(/No entity known below it/).waitFor()
      assert.equal(await page.getByRole('button', { name: 'yes: show below' }).getAttribute('aria-expanded'), 'true')
      await accessible(page, 'members (an intermediate opened)')
      await page.getByLabel('Entity id starts with').fill('m1')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.waitForURL(/q=m1/)
      await page.getByRole('link', { name: 'https://m10.example.org' }).waitFor()
      assert.equal(await rows.count(), 10, 'm10 to m19: a prefix after the scheme')
      await page.getByLabel('Status').selectOption('suspended')
      await page.getByLabel('Entity id starts with').fill('')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.waitForURL(/status=suspended/)
      await page.getByRole('link', { name: leaf.entityId }).waitFor()
      assert.equal(await rows.count(), 1, 'the suspended leaf only')
      await accessible(page, 'members (search)')
      await page.getByRole('link', { name: 'Keys', exact: true }).click()
      await page.getByRole('heading', { level: 1, name: 'Federation keys' }).waitFor()
      await page.getByRole('button', { name: 'Stage a new key' }).waitFor()
      await accessible(page, 'keys')
      await shot(page, '12-keys')
      await page.getByRole('link', { name: 'Trust marks', exact: true }).click()
      await page.getByRole('heading', { level: 1, name: 'Trust marks' }).waitFor()
      await page.getByRole('button', { name: 'Issue' }).waitFor()
      // Issue a mark of a type this entity defines, see who holds it, revoke it.
      const type = 'https://federation.example.org/tm/vetted'
      assert.equal((await anchor.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type })).status, 201)
      await page.reload()
      await page.getByRole('link', { name: type }).waitFor()
      await page.locator('#issue-type').fill(type)
      await page.locator('#issue-sub').fill('https://m01.example.org')
      await page.getByRole('button', { name: 'Issue' }).click()
      const held = page.getByRole('table', { name: 'Issued marks' })
      await held.locator('.status.active').waitFor()
      assert.match(await held.innerText(), /https:\/\/m01\.example\.org/)
      await accessible(page, 'trust marks')
      await shot(page, '13-trust-marks')
      await held.getByRole('button', { name: 'Revoke' }).click()
      await page.getByTestId('confirm').getByRole('button', { name: 'Revoke' }).click()
      await held.locator('.status.revoked').waitFor()
      const marks = (await anchor.admin('GET', `/admin/trust-marks?sub=${encodeURIComponent('https://m01.example.org')}`)).body.items
      assert.deepEqual(marks.map((m: { status: string }) => m.status), ['revoked'])
      // A pending key change: a member that now signs with a key this entity does not vouch for.
      const rolled = await startLeaf({ clock: anchor.clock, authority_hints: [anchor.entityId] })
      try {
        assert.equal((await anchor.admin('POST', '/admin/subordinates', { entity_id: rolled.entityId })).status, 201)
        const next = await testKey()
        rolled.respond = (req, res) => {
          if (req.url !== '/.well-known/openid-federation') return false
          const now = anchor.clock.now()
          void signStatement({ iat: now, exp: now + 3600, ...rolled.claims, jwks: { keys: [next.publicJwk] } }, next).then((jwt) => {
            res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' })
            res.end(jwt)
          })
          return true
        }
        const refreshed = await anchor.admin('POST', '/admin/subordinates/refresh', { entity_id: rolled.entityId })
        assert.equal(refreshed.body.outcome, 'pending', JSON.stringify(refreshed.body))
        await page.goto(`${console_}#/members/${encodeURIComponent(rolled.entityId)}`)
        await page.getByRole('heading', { name: 'Pending key change' }).waitFor()
        await accessible(page, 'member with a pending key change')
        await shot(page, '14-pending-keys')
        await page.getByRole('button', { name: 'Approve keys' }).click()
        await page.getByTestId('confirm').getByRole('button', { name: 'Approve' }).click()
        await page.getByRole('cell', { name: next.kid }).waitFor()
        assert.equal(await page.getByRole('heading', { name: 'Pending key change' }).count(), 0)
        const member = (await anchor.admin('GET', `/admin/subordinates/${encodeURIComponent(rolled.entityId)}`)).body
        assert.deepEqual(member.jwks.keys.map((k: { kid: string }) => k.kid), [next.kid])
        assert.equal((await anchor.admin('GET', `/admin/audit?action=subordinate.keys_approve&subject=${encodeURIComponent(rolled.entityId)}`)).body.events[0]?.actor, 'admin')
      } finally {
        await rolled.stop()
      }
      const issued = await anchor.admin('POST', '/admin/software-statements', { software_id: 'console-test', client_name: 'Console Test' })
      assert.equal(issued.status, 201, JSON.stringify(issued.body))
      await page.getByRole('link', { name: 'Clients', exact: true }).click()
      await page.getByRole('heading', { level: 1, name: 'Clients' }).waitFor()
      const statements = page.getByRole('table', { name: 'Software statements issued' })
      await statements.getByText('console-test').waitFor()
      await accessible(page, 'clients')
      await shot(page, '15-clients')
      await statements.getByRole('button', { name: 'Revoke' }).click()
      await page.getByTestId('confirm').getByRole('button', { name: 'Revoke' }).click()
      await page.getByRole('table', { name: 'Software statements issued' }).locator('.status.revoked').waitFor()
      assert.equal((await anchor.admin('GET', '/admin/software-statements?software_id=console-test')).body.items[0].status, 'revoked')
      await page.getByRole('link', { name: 'Keys', exact: true }).click()
      await page.getByRole('link', { name: 'Token signing keys (authorization server)' }).click()
      await page.getByRole('heading', { level: 1, name: 'Token signing keys' }).waitFor()
      await page.locator('tbody tr').first().waitFor()
      await accessible(page, 'token signing keys')
      // Keyboard: a new view puts the focus on its heading, and the next Tab reaches its first control.
      assert.equal(await page.evaluate('document.activeElement.tagName'), 'H1')
      await page.keyboard.press('Tab')
      assert.match(String(await page.evaluate('document.activeElement.tagName')), /^(A|INPUT|BUTTON|SUMMARY|PRE)$/)
    } finally {
      await context.close()
    }
    assert.deepEqual(problems, [])
  })

  it('works from the keyboard alone, with a visible focus', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    try {
      await page.goto(`${console_}login`)
      const focused = () => page.evaluate<[string, string, string]>('[document.activeElement.tagName, document.activeElement.id || document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).outlineStyle]')
      await page.keyboard.press('Tab')
      const [tag, id, outline] = await focused()
      assert.deepEqual([tag, id], ['INPUT', 'token'], 'the token field is the first stop')
      assert.notEqual(outline, 'none', 'the focus is visible')
      await page.keyboard.type(operatorToken)
      await page.keyboard.press('Enter')
      await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor()
      // Every view puts the focus on its heading; Tab goes on from there, through visible focus rings.
      assert.equal((await focused())[0], 'H1')
      await page.keyboard.press('Tab')
      const next = await focused()
      assert.notEqual(next[2], 'none', `a visible focus on ${next.join(' ')}`)
      // The menu is before the content: back from the heading with Shift+Tab, followed with Enter.
      await page.keyboard.press('Shift+Tab')
      for (let i = 0; i < 20 && (await focused())[1] !== 'Audit log'; i++) await page.keyboard.press('Shift+Tab')
      assert.equal((await focused())[1], 'Audit log')
      await page.keyboard.press('Enter')
      await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor()
      // A confirmation opens on Cancel, and Escape closes it without acting.
      await page.goto(`${console_}#/members/${encodeURIComponent('https://m02.example.org')}`)
      await page.getByRole('button', { name: 'Remove' }).focus()
      await page.keyboard.press('Enter')
      await page.getByTestId('confirm').waitFor()
      assert.equal((await focused())[1], 'Cancel')
      await page.keyboard.press('Escape')
      await page.getByTestId('confirm').waitFor({ state: 'detached' })
      assert.equal((await anchor.admin('GET', `/admin/subordinates/${encodeURIComponent('https://m02.example.org')}`)).status, 200, 'nothing removed')
    } finally {
      await context.close()
    }
  })
})
