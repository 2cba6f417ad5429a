import { strict as assert } from 'node:assert'
import { resourceCommand } from '../../../src/cli/resource.js'
import { UsageError, type IO } from '../../../src/cli/args.js'

function io(): IO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s), readFile: async () => '', env: {} }
}

describe('anchorage resource', () => {
  it('metadata prints the RFC 9728 document, and where to serve it', async () => {
    const x = io()
    const code = await resourceCommand(['metadata', '--resource', 'https://mcp.example.com/mcp', '--as', 'https://as.example.org', '--scope', 'mcp:tools', '--name', 'Tools'], x)
    assert.equal(code, 0)
    assert.deepEqual(JSON.parse(x.out[0]!), {
      resource: 'https://mcp.example.com/mcp', authorization_servers: ['https://as.example.org'], scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'], resource_name: 'Tools',
    })
    assert.equal(x.err[0], 'serve it as application/json at https://mcp.example.com/.well-known/oauth-protected-resource/mcp')
    const y = io()
    await resourceCommand(['metadata', '--resource', 'https://mcp.example.com/mcp', '--as', 'https://as.example.org', '--metadata-url', 'https://mcp.example.com/.well-known/oauth-protected-resource'], y)
    assert.equal(y.err[0], 'serve it as application/json at https://mcp.example.com/.well-known/oauth-protected-resource')
  })

  it('refuses incomplete or malformed options', async () => {
    for (const argv of [
      ['metadata', '--as', 'https://as.example.org'],
      ['metadata', '--resource', 'https://r.example/x#f', '--as', 'https://as.example.org'],
      ['metadata', '--resource', 'https://r.example/x'],
      ['metadata', '--resource', 'https://r.example/x', '--as', 'https://as.example.org?x=1'],
      ['serve', '--resource', 'https://r.example/x', '--as', 'https://as.example.org'],
      ['check', '--resource', 'https://r.example/x', '--as', 'https://as.example.org'],
    ]) await assert.rejects(resourceCommand(argv, io()), UsageError, argv.join(' '))
    assert.equal(await resourceCommand([], io()), 2)
  })

  it('check says why a token is refused, as the resource would answer', async () => {
    const x = io()
    const code = await resourceCommand(['check', '--resource', 'https://r.example/x', '--as', 'https://as.example.org', '--token', 'not-a-jwt'], x)
    assert.equal(code, 1)
    const r = JSON.parse(x.out[0]!)
    assert.equal(r.status, 401)
    assert.deepEqual(r.body, { error: 'invalid_token', error_description: 'the access token is not a JWT' })
    assert.match(r['www-authenticate'], /^Bearer error="invalid_token", .*resource_metadata="https:\/\/r\.example\/\.well-known\/oauth-protected-resource\/x"$/)
  })
})
