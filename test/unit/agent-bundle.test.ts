/**
 * carpd ships as a CommonJS bundle inside a Node 22 SEA, where import.meta
 * does not exist: a module that touches import.meta.url at load time would
 * crash the appliance's agent at start. Bundle the agent the way the image
 * build does and run it under the packaged Node version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bundleAgent, node22Path } from '../../src/builder/agent.js';

test('the bundled agent starts under Node 22 and answers version and --help', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'carpenter-bundle-'));
  try {
    const file = join(dir, 'carpd.cjs');
    await writeFile(file, await bundleAgent());
    const v = await execa(node22Path(), [file, 'version', '--json'], { reject: false, env: { CARPD_ADDON: '/nonexistent' } });
    assert.equal(v.exitCode, 0, v.stderr);
    assert.match(JSON.parse(v.stdout).node, /^v22\./);
    const h = await execa(node22Path(), [file, '--help'], { reject: false });
    assert.equal(h.exitCode, 0, h.stderr);
    assert.match(h.stdout, /usage: carpd/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
