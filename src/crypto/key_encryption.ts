/**
 * Private keys at rest against the configured KEK: which are in clear, which are sealed
 * with the pre-salt derivation of this KEK (legacy), under the previous KEK, or under a KEK
 * not given; and re-sealing them under the KEK, in the store (each write carrying its audit
 * event) and in the deployment's keys.json.
 *
 * Used at start (legacy seals are re-sealed at once; keys in clear refuse the start) and by
 * `anchorage keys encrypt` (everything it can open is re-sealed).
 */
import type { AuditEvent, Store } from '../storage/types.js'
import type { KeysFile } from '../types.js'
import type { KeyRecord } from './keystore.js'
import { KekError, type Kek, type SealedKey } from './kek.js'
import type { JWK } from 'jose'

/** Why a key is to be re-sealed. */
export type Reseal = 'plaintext' | 'legacy' | 'previous'

export interface KeyFinding {
  kid: string
  where: 'store' | 'keys.json'
  state: Reseal | 'sealed' | 'foreign'
}

/** Where each private key stands against `kek` (and `previous`, when given). */
export async function inspectKeys(o: { store: Store; keysFile: KeysFile | undefined; kek: Kek; previous?: Kek }): Promise<KeyFinding[]> {
  const out: KeyFinding[] = []
  for (const rec of await o.store.list<KeyRecord>('keys')) out.push({ kid: rec.id, where: 'store', state: await stateOf(rec.sealed, o.kek, o.previous) })
  for (const k of o.keysFile?.keys ?? []) out.push({ kid: k.kid, where: 'keys.json', state: await stateOf(k.sealed, o.kek, o.previous) })
  return out
}

async function stateOf(sealed: SealedKey, kek: Kek, previous: Kek | undefined): Promise<KeyFinding['state']> {
  if (sealed.enc === 'none') return 'plaintext'
  const found = await kek.keyFor(sealed)
  if (found) return found.legacy ? 'legacy' : 'sealed'
  if (previous && (await previous.keyFor(sealed))) return 'previous'
  return 'foreign'
}

export interface ResealOptions {
  store: Store
  kek: Kek
  previous?: Kek
  /** Which keys to re-seal; the others are left as they are. */
  reseal: ReadonlySet<Reseal>
  /** The audit event of re-sealing one stored key (written with it, atomically). */
  event: (kid: string, from: Reseal) => AuditEvent
  keysFile?: { read(): Promise<KeysFile | undefined>; write(file: KeysFile): Promise<void> }
}

/** Re-seals under `kek`; returns what was re-sealed. A key no KEK given opens is a KekError. */
export async function resealKeys(o: ResealOptions): Promise<KeyFinding[]> {
  const done: KeyFinding[] = []
  for (const rec of await o.store.list<KeyRecord>('keys')) {
    const state = await stateOf(rec.sealed, o.kek, o.previous)
    if (state === 'foreign') throw mismatch(rec.id)
    if (state === 'sealed' || !o.reseal.has(state)) continue
    const sealed = await o.kek.seal(await open(rec.sealed, o.kek, o.previous))
    const before = JSON.stringify(rec.sealed)
    // Written only over the very seal that was opened: a concurrent rotation or re-seal wins.
    const stored = await o.store.update<KeyRecord>('keys', rec.id, (cur) =>
      cur && JSON.stringify(cur.sealed) === before ? { ...cur, sealed } : undefined, { audit: o.event(rec.id, state) })
    if (stored && JSON.stringify(stored.sealed) === JSON.stringify(sealed)) done.push({ kid: rec.id, where: 'store', state })
  }
  const file = await o.keysFile?.read()
  if (!file || !o.keysFile) return done
  let changed = false
  const keys = []
  for (const k of file.keys) {
    const state = await stateOf(k.sealed, o.kek, o.previous)
    if (state === 'foreign') throw mismatch(k.kid)
    if (state !== 'sealed' && o.reseal.has(state)) {
      keys.push({ ...k, sealed: await o.kek.seal(await open(k.sealed, o.kek, o.previous)) })
      done.push({ kid: k.kid, where: 'keys.json', state })
      changed = true
    } else keys.push(k)
  }
  if (changed) await o.keysFile.write({ ...file, keys })
  return done
}

async function open(sealed: SealedKey, kek: Kek, previous: Kek | undefined): Promise<JWK> {
  if (sealed.enc === 'none') return sealed.jwk
  if (await kek.keyFor(sealed)) return (await kek.unseal(sealed)).jwk
  return (await previous!.unseal(sealed)).jwk
}

function mismatch(kid: string): KekError {
  return new KekError(`ANCHORAGE_KEK does not match the key that encrypted the private keys (key ${kid}; give the KEK it was sealed with as ANCHORAGE_KEK_PREVIOUS to \`anchorage keys encrypt\`)`)
}

export interface StartOptions {
  store: Store
  kek: Kek
  dir: string
  event: ResealOptions['event']
  keysFile: NonNullable<ResealOptions['keysFile']>
}

/**
 * At start with a KEK: refuses private keys in clear (naming the command that seals them)
 * or under another KEK; re-seals the legacy ones at once (same secret, per-deployment salt).
 * Returns what was re-sealed.
 */
export async function checkKeysAtStart(o: StartOptions): Promise<KeyFinding[]> {
  const findings = await inspectKeys({ store: o.store, keysFile: await o.keysFile.read(), kek: o.kek })
  const plain = findings.filter((f) => f.state === 'plaintext')
  if (plain.length) {
    const kids = (w: KeyFinding['where']) => plain.filter((f) => f.where === w).map((f) => f.kid)
    const list = (['store', 'keys.json'] as const).flatMap((w) => (kids(w).length ? [`${w}: ${kids(w).join(', ')}`] : []))
    throw new KekError(`private keys are stored UNENCRYPTED (${list.join('; ')}) although ANCHORAGE_KEK is set: stop every instance, run \`anchorage keys encrypt --dir ${o.dir}\` with this ANCHORAGE_KEK, then start again`)
  }
  const foreign = findings.find((f) => f.state === 'foreign')
  if (foreign) throw mismatch(foreign.kid)
  if (!findings.some((f) => f.state === 'legacy')) return []
  return resealKeys({ store: o.store, kek: o.kek, reseal: new Set(['legacy']), event: o.event, keysFile: o.keysFile })
}
