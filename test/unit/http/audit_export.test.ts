/** The audit export's CSV cells (src/http/admin/audit.ts): RFC 4180 quoting and formula defusing. */
import { strict as assert } from 'node:assert'
import { csvCell, csvLine } from '../../../src/http/admin/audit.js'

describe('audit export CSV', () => {
  it('quotes a cell with a comma, a quote or a line break, doubling quotes (RFC 4180)', () => {
    assert.equal(csvCell('plain'), 'plain')
    assert.equal(csvCell('a,b'), '"a,b"')
    assert.equal(csvCell('say "hi"'), '"say ""hi"""')
    assert.equal(csvCell('two\nlines'), '"two\nlines"')
    assert.equal(csvCell('cr\rhere'), '"cr\rhere"')
    assert.equal(csvCell(undefined), '')
    assert.equal(csvCell(null), '')
    assert.equal(csvCell(42), '42')
    assert.equal(csvCell({ a: 'x,y' }), '"{""a"":""x,y""}"')
  })

  it('puts an apostrophe before a cell a spreadsheet would read as a formula', () => {
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) {
      const cell = csvCell(`${lead}cmd|' /C calc'!A0`)
      assert.ok(cell.startsWith(`'${lead}`) || cell.startsWith(`"'${lead}`), JSON.stringify(cell))
    }
    assert.equal(csvCell('=1+1'), "'=1+1")
    assert.equal(csvCell('-2'), "'-2")
    assert.equal(csvCell('=HYPERLINK("https://x","y")'), `"'=HYPERLINK(""https://x"",""y"")"`)
    assert.equal(csvCell('a=b'), 'a=b')
  })

  it('writes one event per CRLF line in the header columns order', () => {
    assert.equal(
      csvLine({ seq: 7, time: '2026-12-01T10:00:00.000Z', actor: 'olga', action: 'subordinate.add', subject: 'https://m.example', outcome: 'success', detail: { kids: ['k1'] } }),
      '7,2026-12-01T10:00:00.000Z,olga,subordinate.add,https://m.example,success,"{""kids"":[""k1""]}"\r\n',
    )
    assert.equal(csvLine({ seq: 8, time: 't', actor: '@x', action: 'a', outcome: 'failure' }), "8,t,'@x,a,,failure,\r\n")
  })
})
