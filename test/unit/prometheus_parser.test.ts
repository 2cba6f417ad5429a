/** The strict Prometheus text-format parser of the tests (test/support/prometheus.ts) refuses what the format does not allow. */
import { strict as assert } from 'node:assert'
import { parsePrometheus, valueOf } from '../support/prometheus.js'

const GOOD = `# HELP h_seconds Latency.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1",route="a"} 1
h_seconds_bucket{le="+Inf",route="a"} 2
h_seconds_sum{route="a"} 0.3
h_seconds_count{route="a"} 2
# HELP c_total A "counter" with \\\\ and \\n.
# TYPE c_total counter
c_total{outcome="x\\"y"} 3
c_total 1e3
`

describe('Prometheus text-format parser (tests)', () => {
  it('reads a valid exposition', () => {
    const m = parsePrometheus(GOOD)
    assert.equal(m.get('h_seconds')!.type, 'histogram')
    assert.equal(valueOf(m, 'h_seconds_count', { route: 'a' }), 2)
    assert.equal(valueOf(m, 'c_total', { outcome: 'x"y' }), 3)
    assert.equal(m.get('c_total')!.help, 'A "counter" with \\ and \n.')
  })

  for (const [why, text] of [
    ['no final line feed', GOOD.trimEnd()],
    ['a sample of no family', 'x 1\n'],
    ['a bad value', '# TYPE c counter\nc one\n'],
    ['a bad label name', '# TYPE c counter\nc{1a="x"} 1\n'],
    ['an unquoted label value', '# TYPE c counter\nc{a=x} 1\n'],
    ['a bad escape', '# TYPE c counter\nc{a="\\t"} 1\n'],
    ['a series twice', '# TYPE c counter\nc{a="x"} 1\nc{a="x"} 2\n'],
    ['samples apart', '# TYPE c counter\n# TYPE d counter\nc 1\nd 1\nc{a="b"} 1\n'],
    ['TYPE after samples', '# TYPE c counter\nc 1\n# TYPE c counter\n'],
    ['an unknown type', '# TYPE c meter\n'],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf not _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['no _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ] as const) {
    it(`refuses ${why}`, () => assert.throws(() => parsePrometheus(text)))
  }
})
