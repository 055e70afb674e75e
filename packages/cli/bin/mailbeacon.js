#!/usr/bin/env node
'use strict';
// The compiled CLI; `npm ci` builds it (the root `prepare` script runs `tsc -b`).
let cli;
try {
  cli = require('../dist/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('mailbeacon is not built yet: run `npm run build` in the repository root.\n');
    process.exit(1);
  }
  throw error;
}
cli.main(process.argv.slice(2));
