#!/usr/bin/env node
// The `munit` command: the bundled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'munit.js');
if (!fs.existsSync(bundle)) {
  console.error('munit: dist/munit.js is missing; run `npm run build` in ' + path.dirname(__dirname));
  process.exit(1);
}
require(bundle).main(process.argv);
