#!/usr/bin/env node
// The `carpenter` command in a checkout: runs the compiled CLI, compiling
// the TypeScript first if this checkout has never been built.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const entry = join(root, 'dist/src/cli/carpenter.js');
if (!existsSync(entry)) {
  process.stderr.write('carpenter: compiling TypeScript (first run in this checkout)...\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(entry);
