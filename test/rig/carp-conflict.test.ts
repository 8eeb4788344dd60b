/**
 * Bad peers and bad packets on the namespace rig (root only):
 *   - a peer with the wrong password (CARP) or the other protocol (VRRPv3
 *     on our CARP VHID): its adverts are ignored (we stay MASTER), counted
 *     by reason and reported as a VHID conflict in the log and the status;
 *   - an authenticated advert from a node the site file does not know;
 *   - thousands of malformed packets from a peer namespace: carpd keeps
 *     running and electing, its drop counters say why.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { rigSkipReason, sleep, withRig } from './netns.js';
import { startKeepalived } from './peers.js';
import { HA, haTopology } from './topology.js';
import { VIPS, carpdAddon, rigSite, startCarpd, waitHolder, waitStates } from './carpd.js';

const skip = rigSkipReason();
const blaster = fileURLToPath(new URL('./helpers/blaster.js', import.meta.url));

describe('carpd against bad peers and bad packets', { skip: skip ?? false }, () => {
  test('wrong password, other protocol, unknown node: ignored, counted, reported as VHID conflicts', async () => {
    await withRig('carp-conflict', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      // Config sync off: it would hand fw2 fw1's password (that is its job, tested elsewhere).
      const c1 = await startCarpd(fw1, 'fw1', rigSite([VIPS.lan, VIPS.wan], { configSync: false }));
      await waitStates([c1], 'lan', { fw1: 'MASTER' });

      // fw2 runs a carpd whose LAN password differs: each side ignores the other.
      const c2 = await startCarpd(fw2, 'fw2', rigSite([{ ...VIPS.lan, password: 'other-secret' }, VIPS.wan], { configSync: false }));
      // fw2 never hears a valid advert from fw1 on LAN: it becomes MASTER too (that is what a
      // password mismatch does); fw1 (better skew) stays MASTER; WAN is unaffected.
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'MASTER' });
      await waitStates([c1, c2], 'wan', { fw1: 'MASTER', fw2: 'BACKUP' });
      const lan1 = await c1.vip('lan');
      assert.ok((lan1.counters?.dropped.badHmac ?? 0) > 0, JSON.stringify(lan1.counters));
      assert.ok((lan1.counters?.conflicts ?? 0) > 0);
      assert.deepEqual([lan1.lastConflict?.detail, lan1.lastConflict?.from], ['badHmac', '192.168.1.3']);
      assert.match(c1.proc.output, /VHID conflict vip=lan vhid=1 interface=LAN kind=auth detail=badHmac from=192\.168\.1\.3/);
      assert.match(await c1.cli(['status']), /VHID CONFLICTS: \d+, last badHmac from 192\.168\.1\.3/);
      await c2.stop();

      // keepalived (VRRPv3) on fw2 with VRID 49 = our CARP VHID on WAN: another protocol.
      const k = startKeepalived(fw2, { interface: 'WAN', vrid: 49, priority: 100, advertInt: 0.2, vips: [`${HA.vip.WAN}/24`] });
      await k.proc.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 10_000);
      await sleep(1500);
      const wan1 = await c1.vip('wan');
      assert.equal(wan1.state, 'MASTER', 'a VRRP speaker cannot take a CARP VIP');
      assert.ok((wan1.counters?.dropped.badVersion ?? 0) > 0, JSON.stringify(wan1.counters));
      assert.equal(wan1.lastConflict?.detail, 'badVersion');
      assert.match(c1.proc.output, /VHID conflict vip=wan vhid=49 interface=WAN kind=protocol detail=badVersion/);
      await k.stop();

      // Correctly signed adverts from the client: authenticated, but not a node of the site.
      await client.succeed(
        'node',
        [blaster, JSON.stringify({ interface: 'LAN', count: 3, vhid: 1, password: 'rig-secret', address: HA.vip.LAN, source: '192.168.1.10', valid: true })],
        { env: { CARPD_ADDON: await carpdAddon() } },
      );
      await sleep(300);
      const lan = await c1.vip('lan');
      assert.equal(lan.counters?.dropped.unknownPeer, 3, JSON.stringify(lan.counters));
      assert.deepEqual([lan.lastConflict?.detail, lan.lastConflict?.from], ['unknownPeer', '192.168.1.10']);
      assert.match(c1.proc.output, /VHID conflict vip=lan vhid=1 interface=LAN kind=unknown-peer detail=unknownPeer from=192\.168\.1\.10/);
      assert.equal(lan.state, 'MASTER');
    });
  });

  test('a flood of malformed packets: carpd keeps running and electing, drops are counted by reason', async () => {
    await withRig('carp-fuzz', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      const site = rigSite([{ ...VIPS.lan, protocol: 'carp' }, VIPS.wan]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      const before = await c1.vip('lan');
      const sockBefore = (await c1.status()).carp.sockets.find((s) => s.interface === 'LAN' && s.family === 4);

      const count = 20_000;
      const out = await client.succeed(
        'node',
        [blaster, JSON.stringify({ interface: 'LAN', count, vhid: 1, password: 'rig-secret', address: HA.vip.LAN, source: '192.168.1.10', seed: 42 })],
        { env: { CARPD_ADDON: await carpdAddon() }, timeoutMs: 60_000 },
      );
      assert.deepEqual(JSON.parse(out), { sent: count, errors: 0 });
      await sleep(500);

      assert.ok(c1.proc.running && c2.proc.running, 'both carpd still run');
      const s1 = await c1.status();
      const lan = s1.vips.find((v) => v.name === 'lan');
      const sock = s1.carp.sockets.find((s) => s.interface === 'LAN' && s.family === 4);
      assert.equal(s1.carp.internalErrors, 0);
      assert.equal(lan?.state, 'MASTER');
      const dropped = (lan?.counters?.droppedTotal ?? 0) - (before.counters?.droppedTotal ?? 0);
      const otherVhids = (sock?.unknownVhid ?? 0) - (sockBefore?.unknownVhid ?? 0);
      assert.ok(dropped > count / 2, `most packets reached the election and were dropped: ${dropped}`);
      assert.ok(otherVhids > count / 20, `other VHIDs counted on the socket: ${otherVhids}`);
      const reasons = lan?.counters?.dropped ?? {};
      for (const r of ['badTtl', 'badHmac', 'badVersion', 'badLength', 'badChecksum', 'unknownPeer']) {
        assert.ok((reasons[r] ?? 0) > 0, `drops counted as ${r}: ${JSON.stringify(reasons)}`);
      }
      // Still electing: the backup still hears the master, and a failover still works.
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
      await c1.cli(['maintenance', 'enter']);
      await waitStates([c1, c2], 'lan', { fw1: 'BACKUP', fw2: 'MASTER' });
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw2, stableMs: 300 });
    });
  });
});
