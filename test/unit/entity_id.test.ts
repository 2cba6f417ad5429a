/** Entity identifiers this deployment stores: canonical WHATWG serialisation, https unless http is allowed. */
import { strict as assert } from 'node:assert'
import { entityIdProblem } from '../../src/entity_id.js'

const https = { allowHttp: false }
const dev = { allowHttp: true }

describe('entity identifiers Anchorage stores (entityIdProblem)', () => {
  for (const id of ['https://x.example', 'https://x.example/fed', 'https://x.example:8443/a/b', 'https://[::1]:8443', 'https://xn--bcher-kva.example', 'https://x.example/a/']) {
    it(`accepts the canonical ${id}`, () => assert.equal(entityIdProblem(id, https), undefined))
  }

  it('accepts http only where the deployment allows it', () => {
    assert.equal(entityIdProblem('http://127.0.0.1:8080', dev), undefined)
    assert.match(entityIdProblem('http://x.example', https)!, /^must be an https URL \(http is allowed only/)
  })

  const suggested: Array<[string, string]> = [
    ['https://x.example/', 'https://x.example'],
    ['https://x.example:443', 'https://x.example'],
    ['https://X.example', 'https://x.example'],
    ['HTTPS://x.example', 'https://x.example'],
    ['https://x.example:', 'https://x.example'],
    ['https://127.1', 'https://127.0.0.1'],
    ['https://x.example/ä', 'https://x.example/%C3%A4'],
  ]
  for (const [id, canonical] of suggested) {
    it(`refuses ${id}, naming the canonical form ${canonical}`, () => {
      assert.equal(entityIdProblem(id, https), `must be written in canonical form: did you mean ${canonical}`)
    })
  }

  it('suggests the punycode form of a raw non-ASCII host', () => {
    assert.equal(entityIdProblem('https://bücher.example', https), 'host must be ASCII (punycode): did you mean https://xn--bcher-kva.example')
  })

  it('suggests the host without its trailing dot', () => {
    assert.equal(entityIdProblem('https://x.example.', https), 'host must not end with a dot: did you mean https://x.example')
  })

  const refused: Array<[string, string, RegExp]> = [
    ['a space', 'https://x.example/a b', /whitespace/],
    ['a leading space', ' https://x.example', /whitespace/],
    ['a tab', 'https://x.exa\tmple', /whitespace/],
    ['a newline', 'https://x.example/\n', /whitespace/],
    ['a backslash', 'https://x.example\\a', /backslashes/],
    ['a NUL', 'https://x.example/\u0000', /control characters/],
    ['a ".." segment', 'https://x.example/a/../b', /"\." or "\.\." path segments/],
    ['a "%2e%2e" segment', 'https://x.example/%2e%2e/b', /path segments/],
    ['a ".%2E" segment', 'https://x.example/a/.%2E', /path segments/],
    ['a "." segment', 'https://x.example/./a', /path segments/],
    ['a 5,000-character host label', `https://${'a'.repeat(5000)}.example`, /host labels must not be longer than 63/],
    ['a host over 253 characters', `https://${Array(60).fill('abcd').join('.')}.example`, /host must not be longer than 253/],
    ['a query', 'https://x.example/?a=1', /query or fragment/],
    ['an empty query', 'https://x.example/a?', /query or fragment/],
    ['a fragment', 'https://x.example#f', /query or fragment/],
    ['userinfo', 'https://u:p@x.example', /userinfo/],
    ['an empty userinfo', 'https://@x.example', /userinfo/],
    ['another scheme', 'ftp://x.example', /^must be an https URL$/],
    ['a relative reference', '/x', /absolute https URL/],
  ]
  for (const [what, id, why] of refused) {
    it(`refuses ${what}`, () => assert.match(entityIdProblem(id, dev) ?? 'accepted', why))
  }

  it('keeps percent-encoded path text as typed when it is already canonical', () => {
    assert.equal(entityIdProblem('https://x.example/a%7e', https), undefined)
  })
})
