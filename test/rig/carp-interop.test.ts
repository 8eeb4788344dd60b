/**
 * carpd against other implementations on the namespace rig (root only):
 * ucarp 1.5.2 (CARP) and keepalived 2.2.7 (VRRPv3, IPv4 and IPv6), each as
 * master and as backup, failing over in both directions:
 *
 *   carpd MASTER, peer BACKUP: carpd dies -> the peer takes over;
 *                              carpd returns -> preempts the peer.
 *   peer MASTER, carpd BACKUP: the peer dies -> carpd takes over;
 *                              the peer returns -> preempts carpd.
 *
 * A dead peer is SIGKILLed and its VIP removed by hand (ucarp leaves it
 * configured; keepalived's crash() kills its VRRP child first), which is
 * what a dead box looks like from the segment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Host, type Rig, rigSkipReason, waitUntil, withRig } from './netns.js';
import { startKeepalived, startUcarp } from './peers.js';
import { HA, haTopology } from './topology.js';
import { type Carpd, type RigVip, VIPS, rigSite, startCarpd, vipHolders, waitHolder, waitStates } from './carpd.js';

const skip = rigSkipReason();

/** A foreign VRRP/CARP speaker on a rig host: start it, kill it like a dead box. */
interface Peer {
  start(host: Host, primary: boolean): Promise<{ die(): Promise<void> }>;
}

const ucarp = (vip: RigVip): Peer => ({
  async start(host, primary) {
    const src = host.name === 'fw1' ? '192.168.1.2' : '192.168.1.3';
    const p = startUcarp(host, { interface: vip.interface, srcip: src, vhid: vip.vhid, password: 'rig-secret', vip: vip.address, advbase: 1, advskew: primary ? 0 : 100, preempt: true });
    await p.waitForOutput(/Spawning|BACKUP|MASTER/, 10_000);
    return {
      async die() {
        p.signal('SIGKILL');
        await p.exited;
        await host.exec('ip', ['addr', 'del', vip.address, 'dev', vip.interface]);
      },
    };
  },
});

const keepalived = (vip: RigVip): Peer => ({
  async start(host, primary) {
    const k = startKeepalived(host, { interface: vip.interface, vrid: vip.vhid, priority: primary ? 254 : 154, advertInt: (vip.intervalMs ?? 100) / 1000, vips: [vip.address] });
    await k.proc.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 10_000);
    return {
      async die() {
        await k.crash();
        await host.exec('ip', ['addr', 'del', vip.address, 'dev', vip.interface]);
      },
    };
  },
});

/** Both directions of failover between carpd and `peer` for one VIP. */
async function interop(rig: Rig, vip: RigVip, peer: Peer): Promise<void> {
  const { fw1, fw2, client } = await haTopology(rig);
  const site = rigSite([vip]);
  const address = vip.address.split('/')[0] as string;
  const ping = (h: Host) => h.waitUntilSucceeds('ping', [...(address.includes(':') ? ['-6'] : []), '-c1', '-W1', address], 8000);
  const fws = [fw1, fw2];

  // carpd (fw1, primary) is MASTER, the peer (fw2) BACKUP.
  let c1: Carpd = await startCarpd(fw1, 'fw1', site);
  let p2 = await peer.start(fw2, false);
  await waitStates([c1], vip.name, { fw1: 'MASTER' });
  await waitHolder(fws, address, { expect: fw1, stableMs: 1500 });
  await ping(client);

  // carpd dies: the peer takes over.
  await c1.crash();
  await waitHolder(fws, address, { expect: fw2, stableMs: 500 });
  await client.succeed('ip', ['neigh', 'flush', 'all']); // ucarp/keepalived announce the port's own MAC
  await ping(client);

  // carpd returns and preempts; the peer steps down (and drops the VIP).
  c1 = await c1.start();
  await waitStates([c1], vip.name, { fw1: 'MASTER' });
  await waitHolder(fws, address, { expect: fw1, stableMs: 1500 });
  assert.equal((await c1.vip(vip.name)).lastTransition?.reason, 'preempt');
  assert.ok(((await c1.vip(vip.name)).counters?.received ?? 0) > 0, 'carpd heard the peer');
  await ping(client);
  await c1.stop();
  await p2.die();

  // Roles swapped: the peer (fw1) is MASTER, carpd (fw2, secondary) BACKUP.
  const p1 = await peer.start(fw1, true);
  await waitHolder(fws, address, { expect: fw1, stableMs: 500 });
  const c2 = await startCarpd(fw2, 'fw2', site);
  await waitStates([c2], vip.name, { fw2: 'BACKUP' });
  assert.deepEqual(await vipHolders(fws, address), [fw1]);
  await waitUntil(async () => ((await c2.vip(vip.name)).counters?.received ?? 0) > 2, { what: 'carpd to hear the peer master' });
  assert.equal((await c2.vip(vip.name)).state, 'BACKUP');
  assert.equal((await c2.vip(vip.name)).counters?.droppedTotal, 0, 'and accepts its adverts');

  // The peer dies: carpd takes over.
  await p1.die();
  await waitStates([c2], vip.name, { fw2: 'MASTER' });
  await waitHolder(fws, address, { expect: fw2, stableMs: 500 });
  assert.equal((await c2.vip(vip.name)).lastTransition?.reason, 'timeout');
  await client.succeed('ip', ['neigh', 'flush', 'all']);
  await ping(client);

  // The peer returns and preempts carpd.
  p2 = await peer.start(fw1, true);
  await waitStates([c2], vip.name, { fw2: 'BACKUP' });
  await waitHolder(fws, address, { expect: fw1, stableMs: 500 });
  assert.equal((await c2.vip(vip.name)).lastTransition?.reason, 'higher-priority-advert');
}

describe('carpd interop', { skip: skip ?? false }, () => {
  test('ucarp (CARP, advbase 1): carpd as master and as backup, failover both ways', async () => {
    await withRig('carp-ucarp', (rig) => interop(rig, { ...VIPS.lan, protocol: 'carp', advbase: 1 }, ucarp({ ...VIPS.lan })));
  });

  test('keepalived (VRRPv3 over IPv4, 100 ms): carpd as master and as backup, failover both ways', async () => {
    const vip: RigVip = { ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100 };
    await withRig('carp-keepalived4', (rig) => interop(rig, vip, keepalived(vip)));
  });

  test('keepalived (VRRPv3 over IPv6, link-local sources): carpd as master and as backup, failover both ways', async () => {
    const vip: RigVip = { ...VIPS.lan6, protocol: 'vrrp3', intervalMs: 100 };
    await withRig('carp-keepalived6', (rig) => interop(rig, vip, keepalived(vip)));
  });
});
