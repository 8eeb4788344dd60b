import { carpdSummary } from '../status.js';
import type { ScenarioRun } from './common.js';

/**
 * sync-down: the SYNC cable is cut. CARP runs on WAN and LAN, so the data
 * plane must not split: one master per VIP, the client still reaches the VIP.
 * Both nodes must notice: each carpd's state sync reports its peer
 * unreachable, and reachable again once the cable is back.
 */
export const syncDown = {
  name: 'sync-down',
  description: 'SYNC link cut: no split brain on the data plane, both nodes report the lost peer; link back: nothing moved',
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('the SYNC cut'))) return;
    await s.lab.setLink(s.primary, 'SYNC', false);
    const target = s.lanVip.address;
    const ping = s.startPing('client', target, 10);
    await new Promise((r) => setTimeout(r, 5000));
    const p = await ping.stop();
    const during = await s.states();
    s.recordPing(p);
    s.report.masterAfter = s.soleMaster(during);
    s.check('no VIP has two masters with SYNC down', s.noSplitBrain(during), JSON.stringify(during));
    s.check(`${s.primary} stays master (SYNC is not a CARP interface)`, s.soleMaster(during) === s.primary);
    s.check('client still reaches the LAN VIP', p.lost === 0, `${p.lost} of ${p.sent} lost`);
    const peerLost = async (node: string, reachable: boolean) => {
      const r = await s.waitUntil(async () => {
        const sum = await carpdSummary(s.lab, node).catch(() => undefined);
        return sum?.stateSync.enabled && sum.stateSync.peerReachable === reachable ? true : undefined;
      }, 20_000, 500);
      return r !== undefined;
    };
    for (const node of [s.primary, s.secondary]) s.check(`${node} reports its state-sync peer unreachable`, await peerLost(node, false));
    await s.lab.setLink(s.primary, 'SYNC', true);
    for (const node of [s.primary, s.secondary]) s.check(`${node} reports its peer reachable again`, await peerLost(node, true));
    const after = await s.waitForMaster(s.primary, 30_000);
    s.check('SYNC back: unchanged', after !== undefined);
    s.recordNodes(after?.states ?? (await s.states()));
  },
};
