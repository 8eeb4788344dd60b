import type { ScenarioRun } from './common.js';

/** settle: every VIP MASTER on the primary, BACKUP on the secondary; the client reaches the LAN VIP. */
export const settle = {
  name: 'settle',
  description: 'every VIP MASTER on the primary and BACKUP on the secondary; the client reaches the VIPs',
  async run(s: ScenarioRun): Promise<void> {
    // Settled = the primary is sole master and stays so for a moment: at a cold
    // start both nodes can time out together before the secondary yields.
    const settled = await s.waitUntil(async () => {
      const first = await s.waitForMaster(s.primary, 90_000);
      if (!first) return undefined;
      await new Promise((r) => setTimeout(r, 2000));
      return s.waitForMaster(s.primary, 0);
    }, 120_000, 0);
    const settledStates = settled?.value;
    const states = settledStates?.states ?? (await s.states());
    s.recordNodes(states);
    s.report.masterBefore = s.soleMaster(states);
    s.report.masterAfter = s.report.masterBefore;
    s.check(`${s.primary} is MASTER of every VIP and ${s.secondary} BACKUP`, settled !== undefined, JSON.stringify(states));
    s.check('no VIP has two masters', s.noSplitBrain(states));
    const ping = s.startPing('client', s.lanVip.address, 10);
    await new Promise((r) => setTimeout(r, 2000));
    const p = await ping.stop();
    s.recordPing(p);
    s.check(`client pings the LAN VIP ${s.lanVip.address}`, p.received > 0 && p.lost === 0, `${p.received}/${p.sent} replies`);
  },
};
