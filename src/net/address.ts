/**
 * Which IP addresses outbound fetches may connect to, unless private networks are
 * explicitly allowed. The ranges come from ipaddr.js (maintained from the IANA
 * special-purpose registries): only `unicast` passes. IPv6 forms that carry an IPv4
 * address are judged by that IPv4 address, so no private IPv4 destination can be reached
 * in IPv6 clothing:
 *
 * | form | IPv4 taken from | decision |
 * |---|---|---|
 * | IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d` | last 32 bits | the IPv4 rule |
 * | IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291) | last 32 bits | the IPv4 rule |
 * | 6to4 `2002::/16` (RFC 3056) | bits 16-48 | the IPv4 rule |
 * | NAT64 well-known prefix `64:ff9b::/96` (RFC 6052) | last 32 bits | the IPv4 rule |
 * | NAT64 local-use prefix `64:ff9b:1::/48` (RFC 8215) | depends on the operator's prefix length | refused |
 * | Teredo `2001::/32` (RFC 4380) | last 32 bits, inverted (client), and bits 32-64 (server) | refused |
 *
 * Teredo is refused outright rather than decoded: the address names two IPv4 hosts (the
 * client and its Teredo server) and the packet goes through whatever relay the network
 * has, so no decoding says where it ends; no federation entity lives behind Teredo.
 * The local-use NAT64 prefix cannot be decoded without the operator's prefix length.
 * IPv6 outside 2000::/3 (the only block IANA allocates for global unicast) is refused
 * too, apart from the embedding forms above. Cloud metadata services stay refused even
 * where a range would let them through.
 */
import ipaddr from 'ipaddr.js'
import { isIP } from 'node:net'

/** Instance metadata services (AWS IPv4 and IPv6, Alibaba, Azure's host endpoint). */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '168.63.129.16'])

const LOCAL_USE_NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48')
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3')
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96')

/** True when the address is not publicly routable (or is a metadata service, or is not an IP address). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  let parsed: ipaddr.IPv4 | ipaddr.IPv6
  try {
    parsed = ipaddr.parse(address)
  } catch {
    return true
  }
  return parsed.kind() === 'ipv4' ? !publicV4(parsed as ipaddr.IPv4) : !publicV6(parsed as ipaddr.IPv6)
}

function publicV4(a: ipaddr.IPv4): boolean {
  return a.range() === 'unicast' && !METADATA.has(a.toString())
}

function publicV6(a: ipaddr.IPv6): boolean {
  if (METADATA.has(a.toNormalizedString()) || METADATA.has(a.toRFC5952String())) return false
  const embedded = embeddedV4(a)
  if (embedded === null) return false
  if (embedded) return publicV4(embedded)
  return a.range() === 'unicast' && a.match(GLOBAL_UNICAST)
}

/**
 * The IPv4 address an IPv6 form carries; undefined when it carries none; null when it is
 * a form that is refused whatever it carries.
 */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined | null {
  const p = a.parts
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff])
  switch (a.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return last32()
    case '6to4': // 2002:AABB:CCDD::/48
      return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff])
    case 'rfc6052':
      return a.match(LOCAL_USE_NAT64) ? null : last32()
    case 'teredo':
      return null
    default:
      // ::a.b.c.d; `::` and `::1` are left to their own ranges (unspecified, loopback).
      if (a.match(IPV4_COMPATIBLE) && (p[6]! !== 0 || p[7]! > 1)) return last32()
      return undefined
  }
}
