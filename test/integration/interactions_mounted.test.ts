/** The interaction pages as the deployment mounts them (under the entity id's path, before oidc-provider's routes). */
import { strict as assert } from 'node:assert'
import { startEntity, type TestEntity } from '../support/entity.js'

describe('interaction pages in a deployment', function () {
  this.timeout(30_000)
  let op: TestEntity

  before(async () => {
    op = await startEntity({ path: '/op', config: { authorization_server: { resources: ['https://api.example.org'], users_file: 'users.json', openid_provider: true } } })
  })
  after(() => op.stop())

  it('reads the users file at start: a configured file that does not exist holds no users', async () => {
    const c = op.service.capabilities.find((x) => x.kind === 'authorization_server')
    assert.ok(c && c.kind === 'authorization_server')
    assert.equal(c.users.accounts.hasUsers, false)
  })

  it('serves the style sheet and answers an interaction not open in this browser with the HTML error page', async () => {
    const css = await op.get('/oauth/assets/interaction.css')
    assert.equal(css.status, 200)
    assert.match(css.headers.get('content-type')!, /^text\/css/)
    const page = await op.get('/oauth/interaction/some-uid')
    assert.equal(page.status, 400)
    assert.match(page.headers.get('content-type')!, /^text\/html/)
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'; style-src 'self'/)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    const body = await page.text()
    assert.match(body, /<link rel="stylesheet" href="\/op\/oauth\/assets\/interaction\.css">/)
    assert.match(body, /expired or is not open in this browser/)
    const callback = await op.get('/oauth/upstream/callback?state=abc.def&code=x')
    assert.equal(callback.status, 400, 'no enterprise provider configured')
  })
})
