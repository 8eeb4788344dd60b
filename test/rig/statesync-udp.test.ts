/**
 * UDP through NAT survives a failover (root only): carpd with its dataplane
 * on both firewalls (nftables, outbound NAT to the WAN VIP, conntrackd FTFW
 * over SYNC); the client sends a DNS-style query every 50 ms from a fresh
 * socket (a new flow and NAT mapping each) and keeps one long-lived flow
 * from a fixed port (a VPN or VoIP stream: one conntrack entry for its
 * life) to the upstream host's UDP echo.
 *
 * fw1 dies hard (carpd SIGKILLed, every cable pulled). Per second of the
 * run: everything sent before the kill was answered; from the second
 * after the takeover on, every query is answered again and the flow gets
 * its echoes at the full rate; the upstream saw only the WAN VIP, and the
 * long-lived flow from one address and port throughout (fw2 took over its
 * NAT mapping with the committed state).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitStates } from './carpd.js';
import { rigSkipReason, sleep, waitUntil, withRig } from './netns.js';
import { deadBox, natSite, serverReport, startPair, startUdpFlows, startUdpServer } from './statesync-rig.js';
import { HA, haTopology } from './topology.js';

const skip = rigSkipReason();
const SPORT = 40053;
const INTERVAL_MS = 50;
const PER_SECOND = 1000 / INTERVAL_MS;

describe('state sync: UDP flows survive failover', { skip: skip ?? false }, () => {
  test('DNS-style queries and a fixed-port flow through NAT keep working after a dead master', async (t) => {
    await withRig('ss-udp', async (rig) => {
      const { fw1, fw2, client, upstream } = await haTopology(rig);
      const [c1, c2] = await startPair(fw1, fw2, natSite());
      const server = startUdpServer(upstream);
      await server.waitForOutput(/serving on/);

      const flows = startUdpFlows(client, { seconds: 10, intervalMs: INTERVAL_MS, sport: SPORT });
      await flows.running();
      // fw2 holds the long-lived flow (with its NAT mapping) before fw1 dies.
      await waitUntil(async () => (await c2.conntrackd(['-e'])).stdout.includes(`sport=${SPORT} `), {
        timeoutMs: 5000,
        what: `fw2's external cache to hold the flow from port ${SPORT}`,
      });
      await sleep(3000);
      const killedAt = Date.now();
      await deadBox(rig, c1);
      for (const vip of ['lan', 'wan']) await waitStates([c2], vip, { fw2: 'MASTER' });

      const r = await flows.result();
      const killSecond = Math.floor((killedAt - r.startedAt) / 1000);
      const show = `kill in second ${killSecond}; timeline ${JSON.stringify(r.timeline)}`;
      t.diagnostic(`queries ${r.queries.answered}/${r.queries.sent} answered, flow ${r.flow.answered}/${r.flow.sent} (longest gap ${r.flow.maxGapMs} ms); ${show}`);
      assert.ok(killSecond >= 2 && killSecond + 4 <= r.timeline.length, show);
      r.timeline.forEach((s, i) => {
        // Full seconds before the kill, and from the second after the takeover on.
        if (i >= killSecond && i <= killSecond + 1) return;
        assert.ok(s.queriesSent >= PER_SECOND - 2, `second ${i}: only ${s.queriesSent} queries sent (${show})`);
        assert.equal(s.queries, s.queriesSent, `second ${i}: queries unanswered (${show})`);
        assert.ok(s.flow >= PER_SECOND - 2, `second ${i}: the flow got ${s.flow} echoes (${show})`);
      });
      assert.equal(r.queries.answered, r.queries.sent - lostDuring(r.timeline, killSecond), show);

      const s2 = await c2.syncState();
      assert.equal(s2.lastPromotion?.ok, true, JSON.stringify(s2.lastPromotion));
      assert.ok((s2.lastPromotion?.committed ?? 0) >= 1, `fw2 committed fw1's states: ${JSON.stringify(s2.lastPromotion)}`);
      const seen = await serverReport(server);
      assert.deepEqual(seen.sources, [HA.vip.WAN], 'outbound NAT: the upstream sees only the WAN VIP');
      assert.deepEqual(seen.flowPeers, [`${HA.vip.WAN}:${SPORT}`], 'the long-lived flow kept its NAT mapping across the failover');
    });
  });
});

/** Queries lost in the seconds the takeover may touch (the only ones allowed to go unanswered). */
function lostDuring(timeline: Array<{ queries: number; queriesSent: number }>, killSecond: number): number {
  return timeline.slice(killSecond, killSecond + 2).reduce((n, s) => n + s.queriesSent - s.queries, 0);
}
