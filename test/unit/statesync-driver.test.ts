/**
 * The conntrackd driver: transition -> command sequences (keepalived's
 * primary-backup.sh), the node-wide tracker, and the exec wrapper against a
 * stand-in conntrackd that records how it was called.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  StateSyncTracker,
  clientConfigFor,
  clientConfigText,
  nodeSyncRole,
  runConntrackd,
  runSteps,
  splitAtAnnounce,
  transitionSteps,
} from '../../src/agent/statesync/index.js';

const args = (t: Parameters<typeof transitionSteps>[0]) => transitionSteps(t).map((s) => s.args.join(' '));

describe('transitionSteps', () => {
  it('to MASTER: commit, flush, resync with the kernel, bulk send', () => {
    assert.deepEqual(args('master'), ['-c', '-f', '-R', '-B']);
  });
  it('to BACKUP: shorten kernel timers, request a resync', () => {
    assert.deepEqual(args('backup'), ['-t', '-n']);
  });
  it('fault: shorten kernel timers', () => {
    assert.deepEqual(args('fault'), ['-t']);
  });
  it('startup: request the whole table from the master', () => {
    assert.deepEqual(args('startup'), ['-n']);
  });
  it('only the commit gates the announcement', () => {
    const { before, after: rest } = splitAtAnnounce(transitionSteps('master'));
    assert.deepEqual(before.map((s) => s.args[0]), ['-c']);
    assert.deepEqual(rest.map((s) => s.args[0]), ['-f', '-R', '-B']);
    assert.deepEqual(splitAtAnnounce(transitionSteps('backup')).before, []);
  });
  it('returns fresh arrays', () => {
    const a = transitionSteps('master');
    (a[0]?.args as string[]).push('x');
    assert.deepEqual(args('master'), ['-c', '-f', '-R', '-B']);
  });
});

describe('StateSyncTracker', () => {
  it('follows the node-wide role across per-VIP elections', () => {
    assert.equal(nodeSyncRole(['BACKUP', 'MASTER']), 'master');
    assert.equal(nodeSyncRole(['BACKUP', 'INIT']), 'backup');
    assert.equal(nodeSyncRole(['INIT', 'INIT']), 'fault');
    assert.equal(nodeSyncRole([]), 'fault');

    const t = new StateSyncTracker();
    assert.equal(t.update(['INIT', 'INIT', 'INIT']), 'startup');
    assert.equal(t.update(['BACKUP', 'INIT', 'INIT']), 'backup');
    assert.equal(t.update(['BACKUP', 'BACKUP', 'BACKUP']), undefined);
    assert.equal(t.update(['MASTER', 'BACKUP', 'BACKUP']), 'master');
    assert.equal(t.update(['MASTER', 'MASTER', 'MASTER']), undefined);
    assert.equal(t.update(['BACKUP', 'BACKUP', 'BACKUP']), 'backup');
    assert.equal(t.update(['INIT', 'INIT', 'INIT']), 'fault');
    assert.equal(t.role, 'fault');
  });

  it('starts as master when the first states already say so', () => {
    assert.equal(new StateSyncTracker().update(['MASTER']), 'master');
    assert.equal(new StateSyncTracker().update(['BACKUP']), 'startup');
  });
});

describe('conntrackd client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpt-statesync-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  const fake = join(dir, 'conntrackd');
  writeFileSync(
    fake,
    [
      '#!/bin/sh',
      `echo "$@" >> ${log}`,
      'case "$3" in',
      '  -s) printf "cache internal:\\ncurrent active connections:\\t 3\\n" ;;',
      '  -B) echo "[Wed Nov 25 17:38:44 2026] (pid=1) [ERROR] can\'t connect: is conntrackd running? appropriate permissions?" >&2; exit 1 ;;',
      '  -R) sleep 5 ;;',
      'esac',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(fake, 0o755);

  it('writes a three-line client config naming the socket', () => {
    assert.equal(clientConfigText('/run/cd/ns1.ctl'), 'General {\n\tUNIX {\n\t\tPath /run/cd/ns1.ctl\n\t}\n}\n');
    assert.throws(() => clientConfigText('rel.ctl'), /absolute path/);
    const p = clientConfigFor('/run/cd/ns1.ctl', dir);
    assert.equal(readFileSync(p, 'utf8'), clientConfigText('/run/cd/ns1.ctl'));
    assert.equal(clientConfigFor('/run/cd/ns1.ctl', dir), p, 'one file per socket');
    assert.notEqual(clientConfigFor('/run/cd/ns2.ctl', dir), p);
  });

  it('runs conntrackd -C <client config> with the arguments', async () => {
    const r = await runConntrackd(['-s'], '/run/cd/ns1.ctl', { bin: fake, clientConfigDir: dir });
    assert.equal(r.ok, true);
    assert.match(r.stdout, /current active connections/);
    const call = readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '';
    assert.equal(call, `-C ${clientConfigFor('/run/cd/ns1.ctl', dir)} -s`);
  });

  it('reports conntrackd\'s error without its timestamp, and timeouts', async () => {
    const r = await runConntrackd(['-B'], '/run/cd/ns1.ctl', { bin: fake, clientConfigDir: dir });
    assert.equal(r.ok, false);
    assert.equal(r.exitCode, 1);
    assert.equal(r.error, "[ERROR] can't connect: is conntrackd running? appropriate permissions?");
    const slow = await runConntrackd(['-R'], '/run/cd/ns1.ctl', { bin: fake, clientConfigDir: dir, timeoutMs: 200 });
    assert.equal(slow.ok, false);
    assert.match(slow.error ?? '', /timed out after 200 ms/);
    const missing = await runConntrackd(['-s'], '/run/cd/ns1.ctl', { bin: join(dir, 'nope'), clientConfigDir: dir });
    assert.equal(missing.ok, false);
    assert.match(missing.error ?? '', /could not be run/);
  });

  it('runs every step in order and keeps going after a failure', async () => {
    writeFileSync(log, '');
    const seen: string[] = [];
    const steps = transitionSteps('master').filter((s) => s.args[0] !== '-R');
    const results = await runSteps(steps, '/run/cd/ns1.ctl', { bin: fake, clientConfigDir: dir, onStep: (r) => seen.push(`${r.args[0]}:${r.ok}`) });
    assert.deepEqual(seen, ['-c:true', '-f:true', '-B:false']);
    assert.deepEqual(results.map((r) => r.step.what.split(' ')[0]), ['commit', 'flush', 'bulk-send']);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').at(-1)), ['-c', '-f', '-B']);
  });
});
