#!/usr/bin/env node
// The `anchorage` command: runs the compiled CLI in dist/ (built by `npm run build`, by
// `npm start` and `npm run demo` when the sources changed, and when the package is packed).
// Only node: built-ins are loaded before it: dist/cli/run.js freezes the intrinsics first.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/run.js', import.meta.url)
const fail = (message) => {
  process.stderr.write(`anchorage: ${message}\n`)
  process.exit(1)
}
if (!existsSync(entry)) {
  fail(`not built: ${fileURLToPath(entry)} is missing.\n` +
    'In a source checkout, build it once with `npm run build` (`npm start` and `npm run demo` build by themselves), then run `npx anchorage ...`.')
}
try {
  await import(entry.href)
} catch (err) {
  // A dependency that is not installed (`npm install` never ran): say so, not a stack trace.
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err
  fail(`cannot load the command: ${err.message}\nRun \`npm install\` (or \`npm ci\`) in ${fileURLToPath(new URL('..', import.meta.url))}, then \`npm run build\`.`)
}
