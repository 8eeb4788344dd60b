/**
 * Self-test of the namespace rig (root only): topology, cable pulls,
 * teardown (also on exit, signals and crashes), and real peers (ucarp CARP,
 * keepalived VRRPv3) electing one master and failing over.
 *
 *   node --test dist/test/rig/rig-selftest.test.js
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { childEnv, listNamespaces, pidAlive, Rig, rigSkipReason, sleep, sweepStale, waitUntil, withRig } from './netns.js';
import { startKeepalived, startUcarp } from './peers.js';
import { HA, haTopology, holders, waitForSingleHolder } from './topology.js';

const skip = rigSkipReason();

const childScript = fileURLToPath(new URL('./helpers/rig-child.js', import.meta.url));

/** A prefix private to this test file's run, so sweeps never meet concurrent runs' rigs. */
const ownPrefix = `cpt-${process.pid}-`;

async function assertGone(id: string, pids: number[], dir?: string): Promise<void> {
  assert.deepEqual(listNamespaces(id), [], `namespaces left with prefix ${id}`);
  await waitUntil(() => pids.every((p) => !pidAlive(p)), { timeoutMs: 3000, what: `pids ${pids.join(' ')} to be gone` });
  if (dir) assert.equal(existsSync(dir), false, `rig dir ${dir} left behind`);
}

describe('namespace rig', { skip: skip ?? false }, () => {
  test('sweepStale leaves live rigs alone', async () => {
    await withRig('live', async (rig) => {
      await rig.host('a');
      const p = (await rig.host('a')).spawn('sleep', ['1000']);
      const r = sweepStale(ownPrefix);
      assert.deepEqual([r.namespaces, r.killed], [[], []]);
      assert.equal(listNamespaces(rig.id).length, 2);
      assert.ok(p.running);
    });
  });

  test('two-firewall topology: ping across, cable pull, teardown leaves nothing', async () => {
    const rig = await Rig.create('topo');
    const { fw1, fw2, client, upstream } = await haTopology(rig, { clientGateway: '192.168.1.2', clientGateway6: '2001:db8:0:2::2', upstreamRoute: '203.0.113.2', upstreamRoute6: '2001:db8:0:1::2' });
    assert.equal(listNamespaces(rig.id).length, 5, 'switch + 4 hosts');
    // nothing of the rig in our own namespace
    const own = await execa('ip', ['-br', 'link']);
    assert.ok(!own.stdout.includes('fw1-'), 'no rig interface in the caller namespace');

    await client.succeed('ping -c1 -W2 192.168.1.2');
    await client.succeed('ping -c1 -W2 192.168.1.3');
    await fw1.succeed('ping', ['-c1', '-W2', '172.16.1.2']); // over SYNC
    await upstream.succeed('ping -c1 -W2 203.0.113.3');
    await client.succeed('ping -c1 -W2 203.0.113.10'); // routed through fw1
    await client.succeed('ping -6 -c1 -W2 2001:db8:0:1::10');
    await fw2.fail('ping -c1 -W1 203.0.113.99'); // nobody there

    // cable pull on fw1's LAN
    await rig.linkDown(fw1, 'LAN');
    assert.match(await fw1.succeed('ip -br link show LAN'), /NO-CARRIER|LOWERLAYERDOWN/);
    await client.fail('ping -c1 -W1 192.168.1.2');
    await client.fail('ping -c1 -W1 203.0.113.10');
    await client.succeed('ping -c1 -W2 192.168.1.3'); // fw2 unaffected
    await rig.linkUp(fw1, 'LAN');
    await client.waitUntilSucceeds('ping -c1 -W1 203.0.113.10', 10_000);

    // a tap on a bridge (what a QEMU guest in the lab plugs into)
    await rig.tap('lan', 'tap-vm1');
    assert.match((await execa('ip', ['-n', rig.switchNs, '-br', 'link', 'show', 'master', 'lan'])).stdout, /tap-vm1/);

    // processes: one tracked, one that forked away (a straggler), one via pid file
    const sleeper = fw1.spawn('sleep', ['1000']);
    const straggler = Number(await upstream.succeed('sleep 1000 >/dev/null 2>&1 </dev/null & echo $!'));
    const pidFile = `${fw2.dir}/child.pid`;
    const parent = fw2.spawn('sh', ['-c', `sleep 1000 & echo $! > ${pidFile}; wait`], { pidFiles: [pidFile] });
    await waitUntil(() => existsSync(pidFile), { what: 'pid file' });
    const viaPidFile = Number((await fw2.succeed('cat', [pidFile])).trim());
    const pids = [sleeper.pid, straggler, parent.pid, viaPidFile];
    assert.ok(pids.every((p) => pidAlive(p)));

    const report = await rig.teardown();
    assert.ok(report.killed.includes(sleeper.pid));
    assert.ok(report.stragglers.includes(straggler), `straggler ${straggler} found by namespace`);
    assert.deepEqual(report.errors, []);
    await assertGone(rig.id, pids, rig.dir);
    // idempotent
    assert.deepEqual((await rig.teardown()).errors, []);
    await assert.rejects(rig.host('late'), /torn down/);
  });

  test('teardown runs on process.exit, uncaught exceptions and SIGTERM', async () => {
    for (const mode of ['exit', 'throw', 'signal'] as const) {
      const child = execa('node', [childScript, mode === 'signal' ? 'wait' : mode, ownPrefix], { reject: false, all: true, extendEnv: false, env: childEnv() });
      let line = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          line += d.toString();
          if (line.includes('\n')) resolve();
        });
        void child.then((r) => reject(new Error(`child exited early: ${String(r.all)}`)));
      });
      const info = JSON.parse(line) as { id: string; dir: string; pids: number[] };
      assert.ok(listNamespaces(info.id).length > 0, `${mode}: rig is up`);
      if (mode === 'signal') child.kill('SIGTERM');
      const r = await child;
      if (mode === 'signal') assert.equal(r.signal, 'SIGTERM', `${mode}: child died of the re-raised signal`);
      else assert.notEqual(r.exitCode, 0);
      await assertGone(info.id, info.pids, info.dir);
    }
  });

  test('sweepStale removes what a SIGKILLed run left, killing only recorded PIDs', async () => {
    const sweepPrefix = `${ownPrefix}sweep-`;
    const child = execa('node', [childScript, 'wait', sweepPrefix], { reject: false, extendEnv: false, env: childEnv() });
    let line = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        line += d.toString();
        if (line.includes('\n')) resolve();
      });
    });
    const info = JSON.parse(line) as { id: string; dir: string; pids: number[] };
    child.kill('SIGKILL');
    await child;
    // no hooks could run: everything is still there
    assert.equal(listNamespaces(info.id).length, 3);
    assert.ok(info.pids.every((p) => pidAlive(p)));
    assert.ok(existsSync(info.dir));
    const report = sweepStale(sweepPrefix);
    assert.deepEqual(report.killed.sort(), [...info.pids].sort());
    assert.equal(report.namespaces.length, 3);
    assert.deepEqual(report.unrecorded, []);
    await assertGone(info.id, info.pids, info.dir);
  });

  test('ucarp (CARP) in fw1 and fw2: one master, failover on SIGKILL, preempt back', async () => {
    await withRig('ucarp', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      const carp = (fw: typeof fw1, src: string, skew: number) =>
        startUcarp(fw, { interface: 'LAN', srcip: src, vhid: 49, password: 'change-me', vip: `${HA.vip.LAN}/24`, advbase: 1, advskew: skew });
      const u1 = carp(fw1, '192.168.1.2', 0);
      carp(fw2, '192.168.1.3', 100);
      const master = await waitForSingleHolder([fw1, fw2], 'LAN', HA.vip.LAN, { timeoutMs: 15_000, stableMs: 2500 });
      assert.equal(master, fw1, 'lower advskew wins');
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 5000);

      // master's ucarp dies; its VIP stays configured (no down script) but fw2 must take over
      u1.signal('SIGKILL');
      await u1.exited;
      const t0 = Date.now();
      await waitUntil(async () => (await holders([fw2], 'LAN', HA.vip.LAN)).length === 1, { timeoutMs: 10_000, what: 'fw2 to take the VIP' });
      const took = Date.now() - t0;
      assert.ok(took > 2000, `fw2 waited for the master-down timer (${took} ms)`);
      await fw1.succeed('ip', ['addr', 'del', `${HA.vip.LAN}/24`, 'dev', 'LAN']); // what a dead box would not answer with
      await client.succeed('ip neigh flush dev LAN');
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 5000);

      // fw1 back with advskew 0 and preempt: it reclaims the VIP
      carp(fw1, '192.168.1.2', 0);
      await waitForSingleHolder([fw1, fw2], 'LAN', HA.vip.LAN, { timeoutMs: 15_000, stableMs: 2500, expect: fw1 });
    });
  });

  test('keepalived (VRRPv3) in fw1 and fw2: one master, failover on crash and on stop', async () => {
    await withRig('keepalived', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      const vrrp = (fw: typeof fw1, prio: number) =>
        startKeepalived(fw, { interface: 'LAN', vrid: 51, priority: prio, advertInt: 0.2, vips: [`${HA.vip.LAN}/24`] });
      const k1 = vrrp(fw1, 200);
      const k2 = vrrp(fw2, 100);
      const master = await waitForSingleHolder([fw1, fw2], 'LAN', HA.vip.LAN, { timeoutMs: 10_000, stableMs: 1500 });
      assert.equal(master, fw1, 'higher priority wins');
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 5000);

      // dead master: both keepalived processes SIGKILLed, the VIP stays behind on fw1
      await k1.crash();
      await waitUntil(async () => (await holders([fw2], 'LAN', HA.vip.LAN)).length === 1, { timeoutMs: 5000, what: 'fw2 to take the VIP' });
      await fw1.succeed('ip', ['addr', 'del', `${HA.vip.LAN}/24`, 'dev', 'LAN']);
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 5000);

      // fw1 back: preempts
      const k1b = vrrp(fw1, 200);
      await waitForSingleHolder([fw1, fw2], 'LAN', HA.vip.LAN, { timeoutMs: 10_000, stableMs: 1000, expect: fw1 });
      // graceful stop of the master: priority-0 advert, fw2 takes over at once
      await k1b.stop();
      await waitForSingleHolder([fw1, fw2], 'LAN', HA.vip.LAN, { timeoutMs: 5000, stableMs: 1000, expect: fw2 });
      assert.ok(k2.proc.running);
      await sleep(0);
    });
  });
});
