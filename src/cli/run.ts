/**
 * Process entry of the `anchorage` command (bin/anchorage.js runs the built copy). The
 * intrinsics are frozen first, before any other module is evaluated (cli/harden.ts).
 */
import './frozen.js'
import { main } from './main.js'

// A reader that stops reading (`anchorage audit | head`) closes the pipe: the output is not
// wanted any more. Stop quietly with the status so far instead of an unhandled EPIPE; `serve`
// keeps serving (its logs are on standard error) and stops writing to standard output.
const serving = process.argv[2] === 'serve'
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
    if (!serving) process.exit(process.exitCode ?? 0)
  })
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error((err as Error)?.stack ?? String(err))
    process.exitCode = 1
  },
)
