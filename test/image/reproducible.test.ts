/**
 * Same inputs, same image: a build from scratch (every stage rebuilt in a
 * throw-away cache, .debs fetched again) gives byte-identical raw and qcow2
 * images to the build that used the shared stage cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { buildImage, DEFAULT_SITE } from '../../src/builder/pipeline.js';
import { buildNode, scratchDir } from './images.js';

let dir: string;
before(async () => {
  dir = await scratchDir('repro');
});
after(() => rm(dir, { recursive: true, force: true }));

test('a from-scratch build of fw1 has the same sha256 as the cached build', { timeout: 900_000 }, async () => {
  const cached = await buildNode('fw1');
  const fresh = await buildImage({ board: 'qemu-x86_64', site: DEFAULT_SITE, node: 'fw1', out: dir, noCache: true, quiet: true });
  for (const format of ['raw', 'qcow2'] as const) {
    const a = cached.outputs.find((o) => o.format === format)!;
    const b = fresh.outputs.find((o) => o.format === format)!;
    assert.equal(b.bytes, a.bytes, `${format} size`);
    assert.equal(b.sha256, a.sha256, `${format} sha256`);
  }
  assert.deepEqual(fresh.parts.map((p) => p.bytes), cached.parts.map((p) => p.bytes));
  assert.ok(fresh.parts.every((p) => !p.cached), 'nothing came from the cache in the fresh build');
});
