#!/usr/bin/env node
// The `anchorage` command: runs the compiled CLI (npm run build).
import '../dist/cli/run.js'
