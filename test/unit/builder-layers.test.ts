import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Layer } from '../../src/builder/layer.js';
import { cpioHeader, tarToCpio } from '../../src/builder/cpio.js';
import { globToRegExp, pruneMatcher } from '../../src/builder/manifest.js';
import { parseAr } from '../../src/builder/deb.js';
import { isElf, neededLibraries } from '../../src/builder/elf.js';

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'carpenter-unit-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sampleLayer(order: 'forward' | 'reverse'): Layer {
  const l = new Layer('t');
  const ops: (() => void)[] = [
    () => l.file('etc/hostname', 'fw1\n'),
    () => l.file('usr/sbin/tool', 'binary', 0o755),
    () => l.symlink('sbin/tool', '/usr/sbin/tool'),
    () => l.dir('tmp', 0o1777),
    () => l.add({ path: 'dev/console', type: 'char', mode: 0o600, devmajor: 5, devminor: 1 }),
  ];
  (order === 'forward' ? ops : [...ops].reverse()).forEach((op) => op());
  return l;
}

test('layer tars are byte-identical whatever order entries were added in', () =>
  withTmp(async (dir) => {
    await sampleLayer('forward').writeTar(join(dir, 'a.tar'), 1_700_000_000);
    await sampleLayer('reverse').writeTar(join(dir, 'b.tar'), 1_700_000_000);
    assert.deepEqual(await readFile(join(dir, 'a.tar')), await readFile(join(dir, 'b.tar')));
    await sampleLayer('forward').writeTar(join(dir, 'c.tar'), 1_700_000_001);
    assert.notDeepEqual(await readFile(join(dir, 'a.tar')), await readFile(join(dir, 'c.tar')), 'the epoch is what stamps files');
  }));

test('layer fills in missing parent directories and later entries win', () => {
  const l = new Layer('t');
  l.file('a/b/c.txt', 'one');
  l.file('a/b/c.txt', 'two');
  assert.deepEqual(l.sorted().map((e) => e.path), ['a', 'a/b', 'a/b/c.txt']);
  assert.equal(l.entries.get('a/b/c.txt')!.data!.toString(), 'two');
  assert.throws(() => l.file('../escape', 'x'), /escapes the root/);
});

test('tar -> newc cpio that GNU cpio lists and extracts correctly', () =>
  withTmp(async (dir) => {
    await sampleLayer('forward').writeTar(join(dir, 'l.tar'), 1_700_000_000);
    const chunks: Buffer[] = [];
    for await (const c of tarToCpio(join(dir, 'l.tar'))) chunks.push(c as Buffer);
    const cpio = Buffer.concat(chunks);
    await writeFile(join(dir, 'l.cpio'), cpio);
    assert.equal(cpio.subarray(0, 6).toString(), '070701');
    const { stdout } = await execa('cpio', ['-itv', '--quiet', '-F', join(dir, 'l.cpio')]);
    const lines = stdout.split('\n');
    const line = (name: string) => lines.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `)) ?? '';
    assert.match(line('etc/hostname'), /^-rw-r--r--/);
    assert.match(line('usr/sbin/tool'), /^-rwxr-xr-x/);
    assert.match(line('sbin/tool'), /^lrwxrwxrwx .* sbin\/tool -> \/usr\/sbin\/tool$/);
    assert.match(line('tmp'), /^drwxrwxrwt/);
    assert.match(line('dev/console'), /^crw-------.* 5,\s+1 /);
    const { stdout: body } = await execa('cpio', ['-i', '--quiet', '--to-stdout', '-F', join(dir, 'l.cpio'), 'etc/hostname']);
    assert.equal(body, 'fw1');
  }));

test('cpio header fields are 8 hex digits, name padded to 4 bytes', () => {
  const h = cpioHeader({ ino: 1, mode: 0o100644, mtime: 0x10, size: 3, name: 'abc' });
  assert.equal(h.length % 4, 0);
  assert.equal(h.subarray(0, 6).toString(), '070701');
  assert.equal(h.subarray(6 + 8 * 6, 6 + 8 * 7).toString(), '00000003', 'filesize field');
  assert.equal(h.subarray(6 + 8 * 11, 6 + 8 * 12).toString(), '00000004', 'namesize counts the NUL');
});

test('prune globs: * stays in one path segment, dir/** also matches the dir', () => {
  assert.ok(globToRegExp('usr/share/doc/**').test('usr/share/doc/x/y'));
  assert.ok(!globToRegExp('boot/config-*').test('boot/sub/config-1'));
  const pruned = pruneMatcher(['usr/share/man/**', 'boot/System.map-*']);
  assert.ok(pruned('usr/share/man'));
  assert.ok(pruned('usr/share/man/man8/ip.8.gz'));
  assert.ok(pruned('boot/System.map-6.1.0'));
  assert.ok(!pruned('usr/share/mandatory'));
});

test('ar parsing (the .deb container) handles odd member sizes', () => {
  const member = (name: string, data: string) => {
    const head = name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(data.length).padEnd(10) + '`\n';
    return head + data + (data.length % 2 ? '\n' : '');
  };
  const buf = Buffer.from('!<arch>\n' + member('debian-binary', '2.0\n') + member('control.tar.xz/', 'abc') + member('data.tar.xz', 'hello'));
  const m = parseAr(buf);
  assert.deepEqual(m.map((x) => x.name), ['debian-binary', 'control.tar.xz', 'data.tar.xz']);
  assert.deepEqual(m.map((x) => x.data.toString()), ['2.0\n', 'abc', 'hello']);
  assert.throws(() => parseAr(Buffer.from('not an archive')), /not an ar archive/);
});

test('ELF DT_NEEDED of a dynamic host binary; none for non-ELF', async () => {
  const ls = await readFile('/bin/ls');
  assert.ok(isElf(ls));
  assert.ok(neededLibraries(ls).includes('libc.so.6'));
  assert.deepEqual(neededLibraries(Buffer.from('#!/bin/sh\necho hi\n'.repeat(10))), []);
});
