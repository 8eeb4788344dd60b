/**
 * Bad input to `carpenter build`: one clear error, a non-zero exit, and
 * nothing half-written at the output path (an earlier image there survives).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/builder/agent.js';
import { DEFAULT_SITE } from '../../src/builder/pipeline.js';
import { scratchDir } from './images.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/carpenter.js');
let dir: string;
let out: string;
const PREVIOUS = 'an image from an earlier, successful build\n';

before(async () => {
  dir = await scratchDir('errors');
  out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'office-fw1.img'), PREVIOUS);
});
after(() => rm(dir, { recursive: true, force: true }));

async function build(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, 'build', '--out', out, ...args], {
    reject: false,
    env: { SOURCE_DATE_EPOCH: '1700000000', ...env },
  });
}

async function assertOutputUntouched(): Promise<void> {
  assert.deepEqual((await readdir(out)).sort(), ['office-fw1.img'], 'no new or temporary files at the output path');
  assert.equal(await readFile(join(out, 'office-fw1.img'), 'utf8'), PREVIOUS, 'the earlier image is intact');
}

test('unknown board: names it and lists the known boards', async () => {
  const r = await build(['--board', 'no-such-board', '--node', 'fw1']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /error: unknown board "no-such-board"/);
  assert.match(r.stderr, /known boards: .*qemu-x86_64.*sg-4860|known boards: .*sg-4860.*qemu-x86_64/);
  await assertOutputUntouched();
});

test('unreadable site file', async () => {
  const r = await build(['--site', join(dir, 'missing.ini'), '--node', 'fw1']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /error: cannot read site file .*missing\.ini: ENOENT/);
  await assertOutputUntouched();
});

test('invalid site file: every problem with file, line, section and key', async () => {
  const text = (await readFile(DEFAULT_SITE, 'utf8'))
    .replace(/^vhid = 49$/m, 'vhid = 300')
    .replace(/^address = 192\.168\.1\.1\/24$/m, 'address = 10.9.9.1/24');
  const bad = join(dir, 'bad-site.ini');
  await writeFile(bad, text);
  const lineOf = (re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;
  const r = await build(['--site', bad, '--node', 'fw1']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, new RegExp(`bad-site\\.ini:${lineOf(/^vhid = 300$/)}: \\[vip "wan"\\] vhid: .*300.*allowed: 1-255`));
  assert.match(r.stderr, new RegExp(`bad-site\\.ini:${lineOf(/^address = 10\.9\.9\.1/)}: \\[vip "lan"\\] address: .*10\\.9\\.9\\.1`));
  assert.doesNotMatch(r.stderr, /internal error|    at /, 'no stack trace for bad input');
  await assertOutputUntouched();
});

test('unknown node: names it and lists the site nodes', async () => {
  const r = await build(['--node', 'fw9']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /error: unknown node "fw9"/);
  assert.match(r.stderr, /nodes in this site: fw1, fw2/);
  await assertOutputUntouched();
});

test('missing host tool: says which apt package provides it', async () => {
  // A PATH with every tool the build needs except mmdebstrap.
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  for (const tool of ['xz', 'zstd', 'gzip', 'mmd', 'mcopy', 'syslinux', 'strip', 'qemu-img', 'git']) {
    const { stdout } = await execa('sh', ['-c', `command -v ${tool}`]);
    await symlink(stdout.trim(), join(bin, tool)).catch(() => undefined);
  }
  const r = await build(['--node', 'fw1'], { PATH: bin });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /error: missing host tool: mmdebstrap/);
  assert.match(r.stderr, /apt-get install mmdebstrap/);
  await assertOutputUntouched();
});

test('a package that cannot be fetched fails the build and leaves nothing behind', { timeout: 300_000 }, async () => {
  const manifest = (await readFile(join(REPO_ROOT, 'build/packages.ini'), 'utf8')).replace(
    /^packages = linux-image-amd64, /m,
    'packages = carpenter-no-such-package, linux-image-amd64, ',
  );
  const file = join(dir, 'packages.ini');
  await writeFile(file, manifest);
  const r = await build(['--node', 'fw1', '--packages', file, '--cache', join(dir, 'cache')]);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /error: fetching Debian packages failed/);
  assert.match(r.stderr, /carpenter-no-such-package/);
  await assertOutputUntouched();
  const leftovers = (await readdir(join(dir, 'cache', 'packages')).catch(() => [] as string[])).filter((f) => f.startsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no half-built cache entry');
});
