import { strict as assert } from 'node:assert'
import { parse, UsageError } from '../../../src/cli/args.js'

/**
 * Key ids and tokens are base64url: one in 64 starts with `-`. The CLI must take such a
 * value where a value is expected instead of reading it as options.
 */
describe('CLI arguments', () => {
  const options = {
    'accept-kid': { type: 'string' as const },
    anchor: { type: 'string' as const },
    force: { type: 'boolean' as const, short: 'f' },
  }

  it('takes a value starting with - for a string option', () => {
    const r = parse(['refresh', '--accept-kid', '-xY_9', '--anchor', 'https://ta.example'], options, true)
    assert.equal(r.values['accept-kid'], '-xY_9')
    assert.equal(r.values.anchor, 'https://ta.example')
  })

  it('takes a positional starting with - that is not a known short option', () => {
    const r = parse(['activate', '-Ab3', '--force'], options, true)
    assert.deepEqual(r.positionals, ['activate', '-Ab3'])
    assert.equal(r.values.force, true)
  })

  it('still reads known short options, and refuses unknown long ones and a missing value', () => {
    assert.equal(parse(['activate', '-f', 'kid'], options, true).values.force, true)
    assert.throws(() => parse(['--bogus'], options, true), UsageError)
    assert.throws(() => parse(['--anchor', '--accept-kid', 'k'], options, true), UsageError)
    assert.throws(() => parse(['-Ab3'], options, false), UsageError)
  })

  it('keeps the -- separator for positionals starting with --', () => {
    assert.deepEqual(parse(['--', '--weird'], options, true).positionals, ['--weird'])
  })
})
