/**
 * Sessions survive a failover (root only): carpd with its dataplane on both
 * firewalls (nftables with outbound NAT to the WAN VIP, conntrackd FTFW over
 * SYNC), the client opening 200 long-lived TCP sessions (an echo every
 * 100 ms each) and one paced, checksummed bulk download from the upstream
 * host through the VIPs.
 *
 *   1. Hard failover: fw1's carpd is SIGKILLed and all its cables pulled.
 *      fw2 commits fw1's states before it takes the VIPs: no session is
 *      reset or stalls, the download completes with the right checksum, and
 *      the upstream sees only the WAN VIP as the source, before and after.
 *   2. fw1 comes back (as from a reboot: empty table, no ruleset). It loads
 *      its firewall, learns fw2's table by bulk resync and only then
 *      preempts, committing it first: again nothing is lost.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitStates } from './carpd.js';
import { rigSkipReason, withRig } from './netns.js';
import { deadBox, natSite, revive, serverSources, startPair, startProbe, startSessionsServer, waitExternal, type ProbeReport } from './statesync-rig.js';
import { HA, haTopology } from './topology.js';

const skip = rigSkipReason();

function assertSurvived(r: ProbeReport, what: string): void {
  assert.equal(r.sessionsTotal, 200, what);
  assert.equal(r.sessionsLost, 0, `${what}: lost sessions ${JSON.stringify(r.lostReasons)}`);
  assert.ok(r.messagesEchoed > 0, what);
  assert.equal(r.bulk.error, '', `${what}: bulk download error`);
  assert.ok(r.bulk.complete, `${what}: bulk ${r.bulk.received}/${r.bulk.bytes} bytes, sha256 ${r.bulk.sha256} (expected ${r.bulk.expected})`);
}

describe('state sync: sessions survive failover and preemption', { skip: skip ?? false }, () => {
  test('200 sessions and a download through NAT survive a dead master, then its preemption after the resync', async () => {
    await withRig('ss-failover', async (rig) => {
      const { fw1, fw2, client, upstream } = await haTopology(rig);
      const [c1, c2] = await startPair(fw1, fw2, natSite());
      const server = startSessionsServer(upstream);
      await server.waitForOutput(/serving on/);

      // 1. fw1 dies with 200 sessions and a download running through it.
      const before = startProbe(client, { seconds: 14, bulkMb: 40, bulkMbps: 40 });
      await before.established();
      await waitExternal(c2, 201);
      assert.deepEqual(await serverSources(server), [HA.vip.WAN], 'outbound NAT: the upstream sees the WAN VIP');
      await deadBox(rig, c1);
      for (const vip of ['lan', 'wan']) await waitStates([c2], vip, { fw2: 'MASTER' });
      assertSurvived(await before.result(), 'hard failover');
      const s2 = await c2.syncState();
      assert.equal(s2.role, 'master');
      assert.equal(s2.lastPromotion?.ok, true, JSON.stringify(s2.lastPromotion));
      assert.ok((s2.lastPromotion?.committed ?? 0) >= 201, `fw2 committed fw1's states: ${JSON.stringify(s2.lastPromotion)}`);
      assert.deepEqual(await serverSources(server), [HA.vip.WAN], 'after the failover too');

      // 2. fw1 returns, resyncs, then preempts.
      const during = startProbe(client, { seconds: 14, bulkMb: 40, bulkMbps: 40 });
      await during.established();
      await revive(rig, c1);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' }, 20_000);
      assertSurvived(await during.result(), 'preemption');
      const s1 = await c1.syncState();
      assert.equal(s1.lastResync?.outcome, 'done', JSON.stringify(s1.lastResync));
      assert.ok((s1.lastResync?.entries ?? 0) >= 201, `fw1 learned fw2's table: ${JSON.stringify(s1.lastResync)}`);
      assert.ok(s1.lastPromotion !== null && Date.parse(s1.lastPromotion.at) >= Date.parse(s1.lastResync?.at ?? ''), 'promoted after the resync');
      assert.ok((s1.lastPromotion?.committed ?? 0) >= 201, `fw1 committed fw2's states: ${JSON.stringify(s1.lastPromotion)}`);
      assert.equal((await c1.vip('lan')).lastTransition?.reason, 'preempt');
      assert.deepEqual(await serverSources(server), [HA.vip.WAN], 'after the preemption too');
      assert.equal((await c1.syncState()).conntrackd.restarts, 0);
    });
  });
});
