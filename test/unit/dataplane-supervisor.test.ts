/**
 * ConntrackdSupervisor against a stand-in `conntrackd` (a shell script that,
 * like the real one, refuses to start while its lock file exists and answers
 * `-s` as a client): start, restart after a crash (removing the stale lock),
 * stopping a leftover by its pid file, and a clean stop.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RestartBackoff } from '../../src/agent/dataplane/backoff.js';
import { conntrackdPaths } from '../../src/agent/dataplane/plan.js';
import { ConntrackdSupervisor } from '../../src/agent/dataplane/supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'cpt-dp-sup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FAKE = `#!/bin/sh
conf="$2"; shift 2
if [ $# -gt 0 ]; then echo "cache internal:"; echo "current active connections: 0"; exit 0; fi
sock=$(sed -n 's/^[[:space:]]*Path //p' "$conf")
lock=$(sed -n 's/^[[:space:]]*LockFile //p' "$conf")
if [ -e "$lock" ]; then echo "lockfile $lock exists, perhaps conntrackd already running?" >&2; exit 1; fi
: > "$lock"; : > "$sock"
trap 'rm -f "$lock" "$sock"; exit 0' TERM
while :; do sleep 0.05; done
`;

function setup(name: string) {
  const root = join(dir, name);
  const bin = join(root, 'bin', 'conntrackd');
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(bin, FAKE, { mode: 0o755 });
  const paths = conntrackdPaths(join(root, 'run'));
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.conf, `General {\n\tLockFile ${paths.lockFile}\n\tUNIX {\n\t\tPath ${paths.socket}\n\t}\n}\n`);
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  const sup = new ConntrackdSupervisor({ paths, bin, log, backoff: new RestartBackoff({ initialMs: 20 }) });
  return { paths, bin, sup, lines };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ConntrackdSupervisor', () => {
  it('starts it, writes its pid, restarts it after a crash despite the stale lock, stops it', async () => {
    const { paths, sup, lines } = setup('crash');
    let ready = 0;
    sup.on('ready', () => ready++);
    await sup.start();
    const pid = sup.pid ?? 0;
    assert.ok(pid > 0);
    assert.equal(readFileSync(paths.pidFile, 'utf8').trim(), String(pid));
    assert.equal(sup.status().ready, true);
    assert.equal(ready, 1);

    process.kill(pid, 'SIGKILL'); // leaves its lock file behind
    await until('restarted', () => ready === 2);
    const s = sup.status();
    assert.equal(s.restarts, 1);
    assert.equal(s.lastExit?.signal, 'SIGKILL');
    assert.notEqual(sup.pid, pid);
    assert.ok(lines.some((l) => l.startsWith('conntrackd exited; restarting')));

    const second = sup.pid ?? 0;
    await sup.stop();
    assert.equal(alive(second), false);
    assert.equal(existsSync(paths.pidFile), false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sup.status().running, false, 'no restart after stop');
  });

  it('stops the conntrackd a previous carpd left running (found by its pid file and config), then starts its own', async () => {
    const { paths, bin, sup } = setup('leftover');
    const orphan = spawn(bin, ['-C', paths.conf], { stdio: 'ignore' });
    const orphanPid = orphan.pid ?? 0;
    writeFileSync(paths.pidFile, `${orphanPid}\n`);
    await until('orphan holds the lock', () => existsSync(paths.lockFile));
    await sup.start();
    assert.equal(alive(orphanPid), false, 'the leftover is gone');
    assert.notEqual(sup.pid, orphanPid);
    assert.equal(sup.status().restarts, 0);
    await sup.stop();
  });

  it('a pid file naming some other process is left alone', async () => {
    const { paths, sup } = setup('foreign');
    const other = spawn('sleep', ['5'], { stdio: 'ignore' });
    writeFileSync(paths.pidFile, `${other.pid ?? 0}\n`);
    await sup.start();
    assert.equal(alive(other.pid ?? 0), true);
    other.kill('SIGKILL');
    await sup.stop();
  });

  it('a daemon that cannot start is reported and retried with backoff', async () => {
    const { paths } = setup('broken');
    const quiet = { info() {}, warn() {}, error() {} };
    const failing = new ConntrackdSupervisor({ paths, bin: '/nonexistent/conntrackd', log: quiet, backoff: new RestartBackoff({ initialMs: 20 }), readyTimeoutMs: 500 });
    await assert.rejects(failing.start(), /conntrackd exited at start/);
    await until('retried', () => failing.status().restarts >= 2);
    await failing.stop();
  });
});
