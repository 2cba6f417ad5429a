/**
 * Headless Chromium for the console's end-to-end tests: Debian's `chromium` package
 * (`/usr/bin/chromium`, or CHROMIUM_PATH), driven by playwright-core (no browser download).
 * `.ci/run` installs the package when it is missing; under CI=true a missing browser fails
 * the run, elsewhere the tests skip and say why.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined
  const why = `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`
  if (process.env.CI === 'true') throw new Error(`CI=true: the console's browser tests must run: ${why}`)
  return why
}

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests may run as root (CI does), where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
}
