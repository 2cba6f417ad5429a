/**
 * Admission of unauthenticated discoveries at the resolve endpoint (spec "Denial-of-Service
 * Attack Prevention": the resolve endpoint is a vector of HTTP propagation attacks). A
 * discovery is a resolution that misses the answer cache and joins no resolution already
 * running; cached answers and joined ones are free. Two bounds, both configurable:
 *
 * - at most `max_concurrent_discoveries` run at once, whoever asks;
 * - each client address may start `discoveries_per_minute` (a token bucket holding that
 *   many, refilled continuously). IPv6 addresses count per /64, the block one subscriber
 *   usually holds, so rotating addresses inside it gains nothing.
 *
 * A refusal is 503 temporarily_unavailable with Retry-After (spec "Error Responses":
 * temporarily_unavailable is "unable to handle the request due to temporary overloading").
 */
import ipaddr from 'ipaddr.js'
import type { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { brandError, FederationError } from '../errors.js'
import { boundedLru } from '../util/lru.js'

export interface DiscoveryLimits {
  max_concurrent_discoveries: number
  /** 0: no per-address limit. */
  discoveries_per_minute: number
}

/** 503 with a Retry-After (seconds); the description says which bound was hit and is shown. */
export class DiscoveryRefused extends FederationError {
  override readonly expose: boolean = true
  constructor(description: string, readonly retryAfter: number) {
    super('temporarily_unavailable', description)
  }
}
brandError(DiscoveryRefused, 'DiscoveryRefused')

interface Bucket {
  tokens: number
  /** Clock seconds of the last refill. */
  at: number
}

export class DiscoveryGate {
  private running = 0
  private readonly buckets: LRUCache<string, Bucket>

  constructor(private readonly limits: DiscoveryLimits, private readonly clock: Clock, addresses = 100_000) {
    this.buckets = boundedLru(addresses)
  }

  /** Admits one discovery for `address` or throws DiscoveryRefused; call the returned function when it ends. */
  admit(address: string | undefined): () => void {
    const max = this.limits.max_concurrent_discoveries
    if (this.running >= max) throw new DiscoveryRefused(`${max} discoveries are running already (resolver.max_concurrent_discoveries); retry later`, 1)
    const rate = this.limits.discoveries_per_minute
    if (rate > 0 && address !== undefined) this.take(addressKey(address), rate)
    this.running++
    let released = false
    return () => {
      if (!released) this.running--
      released = true
    }
  }

  /** Discoveries running now. */
  get active(): number {
    return this.running
  }

  private take(key: string, perMinute: number): void {
    const now = this.clock.now()
    const b = this.buckets.get(key) ?? { tokens: perMinute, at: now }
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) * perMinute) / 60)
    b.at = now
    this.buckets.set(key, b)
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil(((1 - b.tokens) * 60) / perMinute))
      throw new DiscoveryRefused(`this client address started ${perMinute} discoveries within a minute (resolver.discoveries_per_minute); retry in ${wait} s`, wait)
    }
    b.tokens -= 1
  }
}

/** The rate-limit key of an address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function addressKey(address: string): string {
  let a: ipaddr.IPv4 | ipaddr.IPv6
  try {
    a = ipaddr.process(address)
  } catch {
    return address.slice(0, 64)
  }
  if (a.kind() === 'ipv4') return a.toString()
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16))
  return `${parts.join(':')}::/64`
}
