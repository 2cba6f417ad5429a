/**
 * Process entry of the `anchorage` command (bin/anchorage.js runs the built copy). The
 * intrinsics are frozen first, before any other module is evaluated (cli/harden.ts).
 */
import './frozen.js'
import { main } from './main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error((err as Error)?.stack ?? String(err))
    process.exitCode = 1
  },
)
