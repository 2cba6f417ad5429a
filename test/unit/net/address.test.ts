/**
 * The outbound address filter (src/net/address.ts): every private IPv4 range in every
 * IPv6 form that embeds an IPv4 address is refused; public addresses pass, in their
 * embedding forms too (except Teredo and the local-use NAT64 prefix, refused outright).
 */
import { strict as assert } from 'node:assert'
import { isPrivateAddress } from '../../../src/net/address.js'

const octets = (v4: string) => v4.split('.').map(Number) as [number, number, number, number]
const hex16 = (hi: number, lo: number) => ((hi << 8) | lo).toString(16)

/** The IPv6 forms that carry `v4`, by name. */
function forms(v4: string): Array<[string, string]> {
  const [a, b, c, d] = octets(v4)
  const tail = `${hex16(a, b)}:${hex16(c, d)}`
  return [
    ['IPv4', v4],
    ['IPv4-mapped (dotted)', `::ffff:${v4}`],
    ['IPv4-mapped (hex)', `::ffff:${tail}`],
    ['IPv4-translated', `::ffff:0:${v4}`],
    ['IPv4-compatible', `::${v4}`],
    ['6to4', `2002:${tail}::1`],
    ['6to4 (subnet address)', `2002:${tail}:1::`],
    ['NAT64 well-known prefix', `64:ff9b::${tail}`],
  ]
}

/** Teredo with `v4` as the (obfuscated) client address; server 65.54.227.120, port 40000. */
function teredo(v4: string): string {
  const [a, b, c, d] = octets(v4).map((o) => o ^ 0xff) as [number, number, number, number]
  return `2001:0:4136:e378:8000:63bf:${hex16(a, b)}:${hex16(c, d)}`
}

const PRIVATE_V4: Array<[string, string]> = [
  ['loopback 127/8', '127.0.0.1'],
  ['loopback 127/8 (top)', '127.255.255.254'],
  ['private 10/8', '10.1.2.3'],
  ['private 172.16/12', '172.16.0.1'],
  ['private 172.16/12 (top)', '172.31.255.255'],
  ['private 192.168/16', '192.168.1.1'],
  ['link-local 169.254/16', '169.254.1.1'],
  ['cloud metadata', '169.254.169.254'],
  ['shared address space 100.64/10', '100.64.0.1'],
  ['shared address space 100.64/10 (top)', '100.127.255.254'],
  ['"this network" 0/8', '0.1.2.3'],
  ['unspecified', '0.0.0.0'],
  ['multicast 224/4', '224.0.0.1'],
  ['multicast 224/4 (SSDP)', '239.255.255.250'],
  ['broadcast', '255.255.255.255'],
  ['reserved 240/4', '240.0.0.1'],
  ['documentation 192.0.2/24', '192.0.2.1'],
  ['benchmarking 198.18/15', '198.18.0.1'],
  ['IETF protocol assignments 192.0.0/24', '192.0.0.8'],
]

const PUBLIC_V4 = ['8.8.8.8', '1.1.1.1', '93.184.216.34']

describe('outbound address filter', () => {
  describe('refuses every private IPv4 range in every form that carries it', () => {
    for (const [range, v4] of PRIVATE_V4) {
      for (const [form, address] of forms(v4)) {
        it(`refuses ${range} as ${form}: ${address}`, () => assert.equal(isPrivateAddress(address), true))
      }
      it(`refuses ${range} as a Teredo client: ${teredo(v4)}`, () => assert.equal(isPrivateAddress(teredo(v4)), true))
      it(`refuses ${range} under the local-use NAT64 prefix`, () => assert.equal(isPrivateAddress(`64:ff9b:1::${v4}`), true))
    }
  })

  describe('refuses private and special IPv6 ranges', () => {
    const table: Array<[string, string]> = [
      ['loopback', '::1'],
      ['loopback (long form)', '0:0:0:0:0:0:0:1'],
      ['unspecified', '::'],
      ['link-local', 'fe80::1'],
      ['link-local with a zone', 'fe80::1%eth0'],
      ['unique local fc00::/7', 'fc00::1'],
      ['unique local fd00::/8', 'fd12:3456::1'],
      ['cloud metadata (AWS IPv6)', 'fd00:ec2::254'],
      ['multicast', 'ff02::1'],
      ['documentation 2001:db8::/32', '2001:db8::1'],
      ['deprecated site-local', 'fec0::1'],
      ['discard-only 100::/64', '100::1'],
      ['benchmarking 2001:2::/48', '2001:2::1'],
      ['outside 2000::/3', '1::1'],
      ['outside 2000::/3 (high)', '4000::1'],
      ['Teredo with a public client (refused outright)', teredo('8.8.8.8')],
      ['local-use NAT64 with a public IPv4 (refused outright)', '64:ff9b:1::808:808'],
    ]
    for (const [name, address] of table) it(`refuses ${name}: ${address}`, () => assert.equal(isPrivateAddress(address), true))
  })

  describe('refuses what is not an IP address', () => {
    for (const s of ['', 'localhost', 'example.org', '127.1', '0x7f.0.0.1', '2130706433', '::ffff:127.0.0.1:80']) {
      it(`refuses ${JSON.stringify(s)}`, () => assert.equal(isPrivateAddress(s), true))
    }
  })

  describe('refuses cloud metadata services even where the range is public', () => {
    for (const address of ['100.100.100.200', '168.63.129.16', '::ffff:168.63.129.16', '2002:a83f:8110::']) {
      it(`refuses ${address}`, () => assert.equal(isPrivateAddress(address), true))
    }
  })

  describe('lets public addresses through', () => {
    for (const v4 of PUBLIC_V4) {
      for (const [form, address] of forms(v4)) {
        it(`passes ${v4} as ${form}: ${address}`, () => assert.equal(isPrivateAddress(address), false))
      }
    }
    for (const address of ['2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e']) {
      it(`passes ${address}`, () => assert.equal(isPrivateAddress(address), false))
    }
  })
})
