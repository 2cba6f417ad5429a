#!/usr/bin/env node
// Entry point for the `anchorage` command: runs the compiled CLI.
import { main } from '../dist/cli/main.js'
main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
  console.error(err?.stack ?? String(err))
  process.exitCode = 1
})
