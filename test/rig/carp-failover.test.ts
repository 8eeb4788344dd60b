/**
 * carpd failover on the namespace rig (root only):
 *   - the master's carpd is SIGKILLed: its dead-man switch releases the VIPs,
 *     the backup takes over on its master-down timer and the client's traffic
 *     through the VIPs resumes; the master comes back and preempts;
 *   - the master loses its LAN link: the node demotes itself (skew +240), so
 *     the WAN VIP moves together with the LAN VIP; the link returns and so
 *     do both VIPs;
 *   - unicast peers (`unicast = yes`): adverts go to the peer's address, no
 *     multicast on the segment, and failover works the same;
 *   - a split brain heals: when the backup stops hearing the master (its
 *     adverts dropped by nftables) both are MASTER; when it hears it again it
 *     steps down, and the master announces the VIP again, so the switch sends
 *     the virtual MAC's traffic back to it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rigSkipReason, sleep, waitUntil, withRig } from './netns.js';
import { HA, haTopology } from './topology.js';
import { VIPS, rigSite, startCarpd, vipHolders, waitHolder, waitStates, watchMasters } from './carpd.js';

const skip = rigSkipReason();

describe('carpd failover', { skip: skip ?? false }, () => {
  test('master SIGKILLed: backup takes over, client traffic resumes; master back: preempts', async () => {
    await withRig('carp-kill', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      const site = rigSite([VIPS.lan, VIPS.wan]); // CARP, advbase 1
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      await client.succeed('ping', ['-c1', '-W2', '203.0.113.10']);

      await c1.crash();
      // The dead-man switch takes the VIPs off the crashed node at once.
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw2, timeoutMs: 10_000, stableMs: 500 });
      await waitHolder([fw1, fw2], HA.vip.WAN, { expect: fw2, timeoutMs: 10_000, stableMs: 500 });
      await client.waitUntilSucceeds('ping -c1 -W1 203.0.113.10', 5000);
      const lan2 = await c2.vip('lan');
      assert.equal(lan2.state, 'MASTER');
      assert.equal(lan2.lastTransition?.reason, 'timeout');
      assert.match(await fw1.succeed('ip', ['-br', 'link']), /^(?![\s\S]*LAN-vh1)/, 'the crashed node has no macvlan left');

      // fw1 returns with its lower skew: preempt (on by default) gives it the VIPs back.
      await c1.start();
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw1, stableMs: 500 });
      assert.equal((await c1.vip('lan')).lastTransition?.reason, 'preempt');
      assert.equal((await c2.vip('lan')).lastTransition?.reason, 'higher-priority-advert');
      await client.succeed('ping', ['-c1', '-W2', '203.0.113.10']);
    });
  });

  test('LAN link down on the master: WAN and LAN VIPs move together; link back: both return', async () => {
    await withRig('carp-link', async (rig) => {
      const { fw1, fw2, client, upstream } = await haTopology(rig);
      const site = rigSite([
        { ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100 },
        { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100 },
        { ...VIPS.lan6, protocol: 'carp' },
      ]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      for (const vip of ['lan', 'wan', 'lan6']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      const watch = watchMasters([c1, c2], ['wan']);

      await rig.linkDown(fw1, 'LAN');
      // WAN's link is fine, but the node is demoted as a whole: fw2 preempts WAN too.
      for (const vip of ['lan', 'wan', 'lan6']) await waitStates([c1, c2], vip, { fw2: 'MASTER' });
      const s1 = await c1.status();
      assert.deepEqual(s1.carp.demotion.reasons, { 'link:LAN': 240 });
      assert.equal(s1.vips.find((v) => v.name === 'lan')?.state, 'INIT');
      assert.equal(s1.vips.find((v) => v.name === 'wan')?.state, 'BACKUP');
      assert.equal(s1.carp.links.find((l) => l.interface === 'LAN')?.up, false);
      assert.equal((await c2.vip('wan')).lastTransition?.reason, 'preempt');
      assert.deepEqual(await vipHolders([fw1, fw2], HA.vip.WAN), [fw2]);
      assert.deepEqual(await vipHolders([fw1, fw2], HA.vip.LAN), [fw2]);
      await client.waitUntilSucceeds('ping -c1 -W1 203.0.113.10', 5000);
      await upstream.succeed('ping', ['-c1', '-W2', HA.vip.WAN]);

      await rig.linkUp(fw1, 'LAN');
      for (const vip of ['lan', 'wan', 'lan6']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      assert.deepEqual((await c1.status()).carp.demotion.reasons, {});
      await waitHolder([fw1, fw2], HA.vip.WAN, { expect: fw1, stableMs: 300 });
      await client.waitUntilSucceeds('ping -c1 -W1 203.0.113.10', 5000);
      assert.match(c1.proc.output, /link down interface=LAN/);
      assert.match(c1.proc.output, /demotion 0 -> 240 \(link:LAN\)/);
      assert.deepEqual(await watch.stop(), [], 'WAN never had two masters');
    });
  });

  test('unicast peers: adverts to the peer address only, election and failover as with multicast', async () => {
    await withRig('carp-unicast', async (rig) => {
      const { fw1, fw2 } = await haTopology(rig);
      const site = rigSite([
        { ...VIPS.lan, unicast: true },
        { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100, unicast: true },
      ]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      const td = fw2.spawn('tcpdump', ['-l', '-n', '-i', 'any', 'ip proto 112'], { name: 'tcpdump-112' });
      await td.waitForOutput(/listening on/);
      await td.waitForOutput(/203\.0\.113\.2 > 203\.0\.113\.3: VRRPv3/, 5000);
      await td.waitForOutput(/192\.168\.1\.2 > 192\.168\.1\.3: (CARP|VRRP)/, 5000);
      td.signal('SIGINT');
      await td.exited;
      assert.doesNotMatch(td.output, /224\.0\.0\.18/, 'no multicast advert');
      assert.equal((await c1.vip('lan')).unicast, true);
      assert.ok(((await c2.vip('lan')).counters?.received ?? 0) > 0);

      await c1.crash();
      for (const vip of ['lan', 'wan']) await waitStates([c2], vip, { fw2: 'MASTER' });
      await c1.start();
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      assert.deepEqual(await vipHolders([fw1, fw2], HA.vip.WAN), [fw1]);
    });
  });

  test('split brain heals: the loser steps down, the winner re-announces, client traffic follows', async () => {
    await withRig('carp-split', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      const site = rigSite([{ ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100 }]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      // Let fw1's own takeover announcements (0 .. 5 s) finish, so any later one is a re-announcement.
      const tookOver = Date.parse((await c1.vip('lan')).lastTransition?.at ?? '');
      await sleep(Math.max(0, tookOver + 5500 - Date.now()));

      // fw2 stops hearing adverts: it takes over too, and its announcements move the virtual MAC to its port.
      await fw2.succeed('nft', ['-f', '-'], { input: 'table inet deaf { chain in { type filter hook input priority -300; meta l4proto 112 drop; }; }\n' });
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'MASTER' });
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 5000);
      const before = (await c1.status()).carp.takeover.announcements;

      await fw2.succeed('nft', ['delete', 'table', 'inet', 'deaf']);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      assert.equal((await c2.vip('lan')).lastTransition?.reason, 'higher-priority-advert');
      await waitUntil(async () => (await c1.status()).carp.takeover.announcements > before, { what: 'fw1 to announce again' });
      assert.match(c1.proc.output, /another master was heard; announcing the VIP again vip=lan/);
      // The switch learned the virtual MAC back at fw1: the VIP answers (fw2's macvlan is down now).
      await client.waitUntilSucceeds(`ping -c1 -W1 ${HA.vip.LAN}`, 3000);
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw1, stableMs: 500 });
    });
  });
});
