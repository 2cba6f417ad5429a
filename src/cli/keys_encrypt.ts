/**
 * `anchorage keys encrypt`: seals every private key of a deployment (the store's keys and
 * DIR/keys.json) under ANCHORAGE_KEK: keys in clear, keys sealed with the pre-salt
 * derivation, and keys sealed under ANCHORAGE_KEK_PREVIOUS (changing the KEK). Works on the
 * store directly, like `store export`: the embedded store must not be in use by a server.
 */
import { loadConfig, readKeysFile, writeKeysFile, ConfigError } from '../config/load.js'
import { openStore } from '../storage/open.js'
import { systemClock } from '../clock.js'
import { silentLogger } from '../logger.js'
import { AuditLog } from '../audit/audit.js'
import { resealKeys } from '../crypto/key_encryption.js'
import { Kek } from '../crypto/kek.js'
import type { IO } from './args.js'

export const KEYS_ENCRYPT_HELP = `  encrypt [--dir DIR] [--store SPEC]
                             seal every private key (store and DIR/keys.json) under
                             $ANCHORAGE_KEK; keys sealed under an earlier KEK are re-sealed
                             when $ANCHORAGE_KEK_PREVIOUS gives it. Stop the server first
                             (embedded store); every instance then needs the new KEK.`

export async function keysEncrypt(values: { dir?: string; store?: string }, io: IO): Promise<number> {
  const dir = values.dir ?? 'federation'
  const config = await loadConfig(dir, values.store ? { store: values.store } : {}, io.env)
  const kek = config.kek && Kek.of(config.kek)
  if (!kek) throw new ConfigError('keys encrypt: set ANCHORAGE_KEK (32 random bytes as hex/base64, or a passphrase of 20+ characters)')
  const store = await openStore(config, { clock: systemClock, logger: silentLogger })
  try {
    const audit = new AuditLog(store, systemClock, silentLogger)
    const done = await resealKeys({
      store, kek, ...(config.kek_previous ? { previous: Kek.of(config.kek_previous) } : {}),
      reseal: new Set(['plaintext', 'legacy', 'previous']),
      event: (kid, from) => audit.event('cli', 'key.encrypt', 'success', kid, { from }),
      keysFile: { read: () => readKeysFile(config.dir), write: (file) => writeKeysFile(config.dir, file) },
    })
    for (const k of done) io.stdout(`sealed ${k.where === 'store' ? 'store   ' : 'keys.json'} ${k.kid} (was ${k.state === 'plaintext' ? 'in clear' : k.state === 'legacy' ? 'sealed without salt' : 'under ANCHORAGE_KEK_PREVIOUS'})`)
    io.stdout(done.length ? `${done.length} private key(s) sealed under ANCHORAGE_KEK; start every instance with it` : 'every private key is already sealed under ANCHORAGE_KEK')
    return 0
  } finally {
    await store.close()
  }
}
