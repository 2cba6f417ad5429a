/**
 * What ANCHORAGE_KEK (and ANCHORAGE_KEK_PREVIOUS) may be, read as plain data: at least 32
 * random bytes (hex, base64 or base64url), or a passphrase of at least 20 characters. The
 * material is checked here, at configuration time, and used only by crypto/kek.ts, which
 * builds the key-encryption key from it (configuration reads; crypto seals).
 */

export const KEK_MIN_BYTES = 32
export const KEK_MIN_PASSPHRASE = 20

export const KEK_TOO_SHORT = `ANCHORAGE_KEK is too short: give at least ${KEK_MIN_BYTES} random bytes (64 hex digits, or base64/base64url, e.g. \`openssl rand -base64 32\`) or a passphrase of at least ${KEK_MIN_PASSPHRASE} characters`

/**
 * A KEK as configured. The secret stays in private fields (not in JSON, not shown by
 * `inspect`), so a logged or printed configuration never carries it.
 */
export class KekMaterial {
  readonly #text: string
  readonly #bytes: Buffer | undefined

  private constructor(readonly kind: 'raw' | 'passphrase', text: string, bytes: Buffer | undefined) {
    this.#text = text
    this.#bytes = bytes
  }

  /**
   * The material of `text`, or undefined when it is neither 32+ random bytes nor a passphrase
   * of 20+ characters. `lenient`: any non-empty secret (a previous KEK, only ever used to
   * open what it sealed).
   */
  static parse(text: string, options: { lenient?: boolean } = {}): KekMaterial | undefined {
    const bytes = randomBytesOf(text)
    if (bytes) return new KekMaterial('raw', text, bytes)
    if ([...text].length >= KEK_MIN_PASSPHRASE || (options.lenient && text.length > 0)) return new KekMaterial('passphrase', text, undefined)
    return undefined
  }

  /** The secret as given (a passphrase is stretched from it; so was the pre-salt derivation). */
  text(): string {
    return this.#text
  }

  /** The decoded random bytes of a raw KEK (32 or more). */
  bytes(): Buffer | undefined {
    return this.#bytes
  }

  toJSON(): string {
    return `[KEK ${this.kind}]`
  }
}

/** 64+ hex digits, or base64/base64url of 32+ bytes. */
function randomBytesOf(text: string): Buffer | undefined {
  let bytes: Buffer | undefined
  if (/^(?:[0-9a-fA-F]{2}){32,}$/.test(text)) bytes = Buffer.from(text, 'hex')
  else if (/^[A-Za-z0-9+/]{43,}={0,2}$/.test(text) || /^[A-Za-z0-9_-]{43,}={0,2}$/.test(text)) bytes = Buffer.from(text, 'base64')
  return bytes && bytes.length >= KEK_MIN_BYTES ? bytes : undefined
}
