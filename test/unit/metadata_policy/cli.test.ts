/** `anchorage policy resolve`, called in-process through policyCommand. */
import { policyCommand } from '../../../src/cli/policy.js'
import { assert, fixture } from './helpers.js'

function io(files: Record<string, string> = {}) {
  const out: string[] = []
  const err: string[] = []
  return {
    out, err,
    stdout: (s: string) => { out.push(s) },
    stderr: (s: string) => { err.push(s) },
    readFile: async (p: string) => {
      const f = files[p]
      if (f === undefined) throw new Error(`ENOENT: no such file, open '${p}'`)
      return f
    },
  }
}

const run = async (input: string, ...args: string[]) => {
  const t = io({ 'cases.json': input })
  const code = await policyCommand(['resolve', '--input', 'cases.json', ...args], t)
  return { code, lines: t.out, err: t.err }
}

const CASES = [
  { policies: [{ grant_types: { subset_of: ['a', 'b'] } }, { grant_types: { subset_of: ['a'] } }], metadata: { grant_types: ['a', 'c'] } },
  { policies: [{ alg: { one_of: ['ES256'] } }, { alg: { one_of: ['PS256'] } }], metadata: {} },
  { policies: [{ client_name: { essential: true } }], metadata: { contacts: ['x'] } },
]

describe('anchorage policy resolve', () => {
  it('prints one JSON line per case: merged + metadata, invalid_policy, or merged + invalid_metadata', async () => {
    const { code, lines } = await run(JSON.stringify(CASES))
    assert.equal(code, 0)
    const [ok, badPolicy, badMetadata] = lines.map((l) => JSON.parse(l))
    assert.deepEqual(ok, { merged: { grant_types: { subset_of: ['a'] } }, metadata: { grant_types: ['a'] } })
    assert.equal(badPolicy.error, 'invalid_policy')
    assert.equal(badPolicy.merged, undefined)
    assert.match(badPolicy.error_description, /policies\[1\] \(immediate superior\).*"alg".*"one_of".*intersection/)
    assert.deepEqual(badMetadata.merged, { client_name: { essential: true } })
    assert.equal(badMetadata.error, 'invalid_metadata')
    assert.match(badMetadata.error_description, /"client_name".*"essential"/)
    assert.equal(lines.length, 3)
  })

  it('reads JSON lines and standard input', async () => {
    const t = io({ '-': CASES.map((c) => JSON.stringify(c)).join('\n') + '\n\n' })
    assert.equal(await policyCommand(['resolve', '--input', '-'], t), 0)
    assert.equal(t.out.length, 3)
  })

  it('resolves the spec\'s example', async () => {
    const ex = fixture('spec_policy_example.json')
    const metadata = { ...ex.leaf_metadata.openid_relying_party, ...ex.intermediate_statement.metadata.openid_relying_party }
    const { lines } = await run(JSON.stringify({
      policies: [ex.trust_anchor_statement.metadata_policy.openid_relying_party, ex.intermediate_statement.metadata_policy.openid_relying_party],
      metadata,
    }))
    const result = JSON.parse(lines[0] as string)
    assert.deepEqual(result.metadata.grant_types, ['authorization_code'])
    assert.equal(result.metadata.subject_type, 'pairwise')
  })

  it('accepts the TA/INT form and null for a statement without a policy', async () => {
    const { lines } = await run(JSON.stringify([
      { TA: { p: { add: ['a'] } }, INT: { p: { add: ['b'] } }, metadata: {} },
      { policies: [null, { p: { default: 'x' } }] },
    ]))
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [
      { merged: { p: { add: ['a', 'b'] } }, metadata: { p: ['a', 'b'] } },
      { merged: { p: { default: 'x' } }, metadata: { p: 'x' } },
    ])
  })

  it('reports a malformed policy or metadata per case', async () => {
    const { code, lines } = await run(JSON.stringify([{ policies: ['nope'] }, { policies: [{ p: { add: 'x' } }] }, { policies: [{}], metadata: [] }]))
    assert.equal(code, 0)
    const [a, b, c] = lines.map((l) => JSON.parse(l))
    assert.equal(a.error, 'invalid_policy')
    assert.equal(b.error, 'invalid_policy')
    assert.match(b.error_description, /"p".*"add"/)
    assert.equal(c.error, 'invalid_metadata')
  })

  it('fails every case with --crit, since the command understands no additional operator', async () => {
    const { code, lines } = await run(JSON.stringify([CASES[0]]), '--crit', 'regexp,other')
    assert.equal(code, 0)
    const r = JSON.parse(lines[0] as string)
    assert.equal(r.error, 'invalid_policy')
    assert.match(r.error_description, /"regexp".*metadata_policy_crit/)
  })

  it('explains each case in # lines before its result', async () => {
    const { lines } = await run(JSON.stringify(CASES), '--explain')
    const text = lines.join('\n')
    assert.ok(text.includes('# case 1'))
    assert.ok(text.includes('#     subset_of = ["a"] (intersection of:)'), text)
    assert.ok(text.includes('#       ["a","b"] from policies[0] (trust anchor)'), text)
    assert.ok(text.includes('#     subset_of ["a"]: ["a","c"] -> ["a"]'), text)
    assert.ok(text.includes('# Result: invalid_policy'), text)
    assert.equal(lines.filter((l) => !l.startsWith('#')).length, 3)
    for (const l of lines.filter((x) => !x.startsWith('#'))) JSON.parse(l)
  })

  describe('input errors exit with 2', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['an empty input', '  \n', /empty/],
      ['a broken JSON array', '[{"policies": []', /not valid JSON/],
      ['a broken JSON line', '{"policies": []}\n{"policies": [}', /line 2 is not valid JSON/],
      ['a case that is not an object', '[1]', /case 1 is not a JSON object/],
      ['a case without policies', '[{"metadata": {}}]', /case 1: "policies" must be an array/],
      ['a bad crit member', '[{"policies": [], "crit": "x"}]', /case 1: "crit"/],
    ]
    for (const [label, input, message] of cases) {
      it(`on ${label}`, async () => {
        const { code, lines, err } = await run(input)
        assert.equal(code, 2)
        assert.deepEqual(lines, [])
        assert.match(err.join('\n'), message)
      })
    }

    it('on an unreadable file', async () => {
      const t = io()
      assert.equal(await policyCommand(['resolve', '--input', 'missing.json'], t), 2)
      assert.match(t.err.join(), /cannot read missing.json: ENOENT/)
    })
  })

  describe('usage', () => {
    it('prints help for --help and resolve --help', async () => {
      for (const argv of [['--help'], ['resolve', '--help'], ['help']]) {
        const t = io()
        assert.equal(await policyCommand(argv, t), 0)
        assert.match(t.out.join(), /Usage: anchorage policy resolve --input FILE/)
      }
    })

    it('refuses a missing subcommand, an unknown one, a missing --input and unknown options', async () => {
      for (const [argv, message] of [
        [[], /Usage/], [['merge'], /unknown subcommand "merge"/], [['resolve'], /--input FILE is required/],
        [['resolve', '--input', 'x', '--bogus'], /bogus/], [['resolve', '--input', 'x', 'extra'], /unexpected argument "extra"/],
      ] as Array<[string[], RegExp]>) {
        const t = io()
        assert.equal(await policyCommand(argv, t), 2, argv.join(' '))
        assert.match(t.err.join(), message)
      }
    })
  })
})
