#!/usr/bin/env node
// Runs the bundled CLI (built by `npm run build`, which `npm install` runs through `prepare`).
import('../dist/cli.js');
