/**
 * carpd on the namespace rig: the basics (root only).
 *
 *   - IPv4 and IPv6 VIPs on WAN and LAN (two IPv4 VIPs on LAN), CARP and VRRPv3: one MASTER and one
 *     BACKUP per VIP; the master holds each VIP on its macvlan with the
 *     virtual MAC; the client pings the VIPs and reaches the upstream host
 *     through them; ARP for a VIP is answered only with its virtual MAC;
 *     `carpd status` (human and --json) reports it all.
 *   - Never two masters: not after a negative demotion of the backup (it
 *     takes over, the old master steps down), not across restarts of either
 *     carpd, not when a new config changes one VIP (the others keep running),
 *     checked continuously (as FreeBSD's tests/sys/netinet/carp.sh does).
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rigSkipReason, withRig } from './netns.js';
import { HA, haTopology } from './topology.js';
import { VIPS, rigSite, startCarpd, vipHolders, waitHolder, waitStates, watchMasters } from './carpd.js';

const skip = rigSkipReason();

describe('carpd basics', { skip: skip ?? false }, () => {
  test('IPv4 and IPv6, CARP and VRRPv3: one MASTER and one BACKUP per VIP, client traffic through the VIPs', async () => {
    await withRig('carp-basic', async (rig) => {
      const { fw1, fw2, client, upstream } = await haTopology(rig);
      const site = rigSite([
        VIPS.lan,
        VIPS.wan,
        { ...VIPS.lan6, protocol: 'vrrp3', intervalMs: 100 },
        { ...VIPS.wan6, protocol: 'vrrp3', intervalMs: 100 },
        { name: 'lan2', interface: 'LAN', address: '192.168.1.5/24', vhid: 7, protocol: 'vrrp3', intervalMs: 100 },
      ]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      for (const vip of ['lan', 'wan', 'lan6', 'wan6', 'lan2']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      for (const a of [HA.vip.LAN, HA.vip.WAN, HA.vip.LAN6, HA.vip.WAN6]) await waitHolder([fw1, fw2], a, { expect: fw1, stableMs: 300 });

      // The VIP sits on its own macvlan carrying the virtual MAC, down on the backup.
      const mv = await fw1.succeed('ip', ['-br', 'link', 'show', 'LAN-vh1']);
      assert.match(mv, /00:00:5e:00:01:01/);
      assert.match(mv, /UP/);
      assert.match(await fw1.succeed('ip', ['-br', 'link', 'show', 'LAN-vh2']), /00:00:5e:00:02:02/, 'VRRP over IPv6: 00:00:5e:00:02:<vrid>');
      assert.match(await fw2.succeed('ip', ['-br', 'link', 'show', 'LAN-vh1']), /DOWN/);
      assert.deepEqual(await fw2.addresses('LAN-vh1'), []);

      // The client reaches the VIPs, and the upstream host through them (both families).
      await client.succeed('ping', ['-c1', '-W2', HA.vip.LAN]);
      await client.succeed('ping', ['-6', '-c1', '-W2', HA.vip.LAN6]);
      await client.succeed('ping', ['-c1', '-W2', '203.0.113.10']);
      await client.succeed('ping', ['-6', '-c1', '-W2', '2001:db8:0:1::10']);
      await upstream.succeed('ping', ['-c1', '-W2', HA.vip.WAN]);
      // ... and know the VIPs by their virtual MACs only.
      assert.match(await client.succeed('ip', ['neigh', 'show', HA.vip.LAN]), /lladdr 00:00:5e:00:01:01/);
      assert.match(await client.succeed('ip', ['-6', 'neigh', 'show', HA.vip.LAN6]), /lladdr 00:00:5e:00:02:02/);
      // ARP for a VIP is answered by its own virtual MAC alone: not by the port (arp_ignore),
      // not by the macvlan of another VIP on the same port (lan2, vhid 7).
      const td = client.spawn('tcpdump', ['-l', '-n', '-e', '-i', 'LAN', 'arp and arp[6:2] == 2'], { name: 'tcpdump-arp' });
      await td.waitForOutput(/listening on/);
      await client.succeed('ip', ['neigh', 'flush', 'dev', 'LAN']);
      await client.succeed('ping', ['-c1', '-W2', HA.vip.LAN]);
      await client.succeed('ping', ['-c1', '-W2', '192.168.1.5']);
      await td.waitForOutput(/Reply 192\.168\.1\.5 is-at/);
      await new Promise((r) => setTimeout(r, 300));
      td.signal('SIGINT');
      await td.exited;
      const answers = (ip: string) => [...new Set([...td.output.matchAll(new RegExp(`Reply ${ip.replace(/\./g, '\\.')} is-at ([0-9a-f:]{17})`, 'g'))].map((m) => m[1]))];
      assert.deepEqual(answers(HA.vip.LAN), ['00:00:5e:00:01:01'], `ARP replies:\n${td.output}`);
      assert.deepEqual(answers('192.168.1.5'), ['00:00:5e:00:01:07'], `ARP replies:\n${td.output}`);

      // Status: per VIP state, VHID, timers, skews, counters; human and JSON.
      const s1 = await c1.status();
      const s2 = await c2.status();
      const lan1 = s1.vips.find((v) => v.name === 'lan');
      const lan2 = s2.vips.find((v) => v.name === 'lan');
      assert.equal(lan1?.state, 'MASTER');
      assert.equal(lan1?.vhid, 1);
      assert.equal(lan1?.advbase, 1);
      assert.equal(lan2?.advskew, 100, 'the secondary adds secondary_skew_offset');
      assert.equal(lan2?.effectiveAdvskew, 100);
      assert.ok((lan1?.counters?.sent ?? 0) > 0 && (lan2?.counters?.received ?? 0) > 0);
      assert.equal(lan1?.lastTransition?.to, 'MASTER');
      assert.equal(lan1?.lastTransition?.reason, 'timeout');
      // The cheap summary for pollers says the same.
      const sum2 = JSON.parse(readFileSync(`${c2.stateDir}/status.json`, 'utf8')) as { node: string; vips: Array<{ name: string; state: string }> };
      assert.equal(sum2.node, 'fw2');
      assert.deepEqual(Object.fromEntries(sum2.vips.map((v) => [v.name, v.state])), Object.fromEntries(s2.vips.map((v) => [v.name, v.state])));
      const six2 = s2.vips.find((v) => v.name === 'lan6');
      assert.equal(six2?.priority, 154);
      assert.equal(six2?.intervalMs, 100);
      assert.equal(s1.carp.enabled, true);
      assert.equal(s1.carp.deadman, true);
      assert.equal(s1.version.length > 0 && s1.node === 'fw1' && s1.config.persistent, true);
      const human = await c2.cli(['status']);
      assert.match(human, /lan\s+BACKUP\s+LAN\s+192\.168\.1\.1\/24\s+CARP vhid 1 advbase 1 advskew 100/);
      assert.match(human, /lan6\s+BACKUP\s+LAN\s+2001:db8:0:2::1\/64\s+VRRPv3 vhid 2 interval 100 ms priority 154/);
      assert.match(c1.proc.output, /transition vip=lan vhid=1 interface=LAN from=BACKUP to=MASTER reason=timeout/);
    });
  });

  test('never two masters: after a negative demotion of the backup, and across restarts', async () => {
    await withRig('carp-never-two', async (rig) => {
      const { fw1, fw2 } = await haTopology(rig);
      // advskew 20: fw1 advertises priority 234, fw2 (+100) 134.
      const site = rigSite([{ ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100, advskew: 20 }, { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100, advskew: 20 }]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await waitStates([c1, c2], 'wan', { fw1: 'MASTER', fw2: 'BACKUP' });
      const watch = watchMasters([c1, c2], ['lan', 'wan'], 50);

      // FreeBSD's negative_demotion case: a negative demotion on the master changes nothing.
      await c1.cli(['demote', '-1']);
      assert.equal((await c1.vip('lan')).effectivePriority, 235);
      await new Promise((r) => setTimeout(r, 1000));
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await c1.cli(['demote', 'clear']);

      // A negative demotion that makes the backup the better node: it preempts, the master steps down.
      assert.match(await c2.cli(['demote', '-110']), /manual demotion now -110/);
      await waitStates([c1, c2], 'lan', { fw1: 'BACKUP', fw2: 'MASTER' });
      await waitStates([c1, c2], 'wan', { fw1: 'BACKUP', fw2: 'MASTER' });
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw2, stableMs: 500 });
      const lan2 = await c2.vip('lan');
      assert.equal(lan2.effectivePriority, 244);
      assert.equal(lan2.lastTransition?.reason, 'preempt');
      assert.equal((await c1.vip('lan')).lastTransition?.reason, 'higher-priority-advert');
      assert.deepEqual((await c2.status()).carp.demotion.reasons, { manual: -110 });

      // Restarts: the backup, the master, then both at once; always one master.
      await c1.restart();
      await waitStates([c1, c2], 'lan', { fw1: 'BACKUP', fw2: 'MASTER' });
      await c2.restart(); // its manual demotion is gone: fw1 preempts back
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await waitStates([c1, c2], 'wan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await Promise.all([c1.restart(), c2.restart()]);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw1, stableMs: 1000 });

      // A config applied on fw1 alone (config sync off: a synced one would move
      // fw2's skew too) that makes it the worse node for lan only: lan moves, wan stays put.
      const wanSince = (await c1.vip('wan')).lastTransition?.at;
      const worse = rigSite([{ ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100, advskew: 150 }, { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100, advskew: 20 }], { configSync: false });
      const file = fw1.writeFile('worse.ini', worse);
      assert.match(await c1.cli(['config', 'apply', file]), /config applied/);
      await waitStates([c1, c2], 'lan', { fw1: 'BACKUP', fw2: 'MASTER' });
      assert.equal((await c1.vip('lan')).effectivePriority, 104); // fw2 still runs 134
      assert.equal((await c1.vip('wan')).state, 'MASTER');
      assert.equal((await c1.vip('wan')).lastTransition?.at, wanSince, 'the unchanged VIP kept running');
      assert.match(c1.proc.output, /elections reconfigured kept=1 removed=1 added=1/);
      assert.deepEqual(await watch.stop(), [], 'never two masters at once');
      assert.deepEqual(await vipHolders([fw1, fw2], HA.vip.WAN), [fw1]);
    });
  });
});
