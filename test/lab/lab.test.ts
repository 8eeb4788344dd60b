/**
 * The lab as CI runs it: `carpenter lab run` boots the example pair under
 * QEMU with a client and an upstream host, runs settle and power-off, and
 * tears everything down; the JSON report carries the figures CI reads. Also:
 * `lab up` is idempotent and `lab down` leaves nothing behind.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/builder/agent.js';
import { Lab, LAB_ROOT } from '../../src/lab/lab.js';
import { namespaces } from '../../src/lab/network.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/carpenter.js');
const carpenter = (args: string[]) => execa(process.execPath, [CLI, 'lab', ...args], { reject: false });

after(async () => {
  await carpenter(['down']); // whatever happened above, leave nothing behind
});

async function assertNothingLeft(): Promise<void> {
  const ns = (await Lab.open()).ns;
  assert.deepEqual((await namespaces()).filter((n) => n.startsWith(ns)), [], 'no lab namespaces');
  assert.equal(existsSync(join(LAB_ROOT, 'ha-pair')), false, 'no lab state directory');
  const qemu: number[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('qemu-system') && cmdline.includes(join(LAB_ROOT, 'ha-pair'))) qemu.push(Number(pid));
  }
  assert.deepEqual(qemu, [], 'no QEMU of this lab still running');
}

test('lab run: settle and power-off pass, with the report fields CI reads', { timeout: 900_000 }, async () => {
  const r = await carpenter(['run', '--scenarios', 'settle,power-off', '--json']);
  const report = JSON.parse(r.stdout);
  const failed = report.scenarios?.flatMap((s: { checks: { ok: boolean; name: string; detail?: string }[] }) => s.checks.filter((c) => !c.ok));
  assert.equal(r.exitCode, 0, `lab run failed: ${JSON.stringify(failed)}\n${r.stderr.slice(-2000)}`);
  assert.equal(report.passed, true);
  const [settle, powerOff] = report.scenarios;
  assert.equal(settle.scenario, 'settle');
  assert.equal(settle.masterBefore, 'fw1');
  assert.equal(settle.pingLost, 0);
  for (const vip of ['wan', 'lan', 'lan6']) {
    assert.equal(settle.nodes.fw1.vips[vip], 'MASTER');
    assert.equal(settle.nodes.fw2.vips[vip], 'BACKUP');
  }
  assert.equal(powerOff.scenario, 'power-off');
  assert.equal(powerOff.masterBefore, 'fw1');
  assert.equal(powerOff.masterAfter, 'fw2');
  for (const key of ['pingSent', 'pingLost', 'outageMs', 'takeoverMs']) assert.equal(typeof powerOff[key], 'number', key);
  assert.ok(powerOff.pingSent > powerOff.pingLost, 'the client got replies through the VIP');
  assert.deepEqual([powerOff.sessionsTotal, powerOff.sessionsLost], [50, 0], 'TCP sessions through NAT survive the power-off');
  assert.equal(powerOff.figures.preemptSessionsLost, 0, 'and the preemption');
  assert.equal(typeof report.bootToReadySec.fw1, 'number');
  await assertNothingLeft();
});

test('lab up is idempotent, status --json reads carpd, down leaves nothing', { timeout: 600_000 }, async () => {
  const up1 = await carpenter(['up', '--json']);
  assert.equal(up1.exitCode, 0, up1.stderr.slice(-2000));
  const pids = Object.values(JSON.parse(up1.stdout).nodes).map((n) => (n as { pid: number }).pid);
  const up2 = await carpenter(['up', '--json']);
  assert.equal(up2.exitCode, 0);
  assert.match(up2.stderr, /already up/);
  assert.deepEqual(Object.values(JSON.parse(up2.stdout).nodes).map((n) => (n as { pid: number }).pid), pids, 'the same VMs');

  const status = JSON.parse((await carpenter(['status', '--json'])).stdout);
  assert.equal(status.up, true);
  assert.deepEqual(status.nodes.map((n: { name: string; role: string }) => `${n.name}:${n.role}`), ['fw1:primary', 'fw2:secondary']);

  const exec = await carpenter(['exec', 'fw2', '--', 'cat', '/etc/carpenter/node']);
  assert.equal(exec.exitCode, 0);
  assert.equal(exec.stdout.trim(), 'fw2');
  const fail = await carpenter(['exec', 'fw1', '--', 'false']);
  assert.equal(fail.exitCode, 1, 'exec returns the command exit code');
  const host = await carpenter(['exec', 'client', '--', 'ip', '-br', 'addr', 'show', 'eth0']);
  assert.match(host.stdout, /192\.168\.1\.100\/24/);

  const down = await carpenter(['down']);
  assert.equal(down.exitCode, 0);
  await assertNothingLeft();
});
