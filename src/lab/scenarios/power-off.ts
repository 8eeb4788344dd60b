import type { ScenarioRun } from './common.js';

/**
 * power-off: the seeds' test with the power cord. The master's QEMU is killed;
 * the client's ping through the LAN VIP measures the outage until the
 * secondary takes over. Then the primary is powered back on and preempts.
 */
export const powerOff = {
  name: 'power-off',
  description: 'hard power-off of the master: the secondary takes over; power back: the primary preempts',
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('the power-off'))) return;
    const vip = s.lanVip;
    const target = vip.address;
    // CARP master-down bound: 3 x advbase + skew/256 s (VRRPv3: 3 x interval + skew time), plus TCG slack.
    const boundMs = vip.protocol === 'carp' ? 3 * vip.advbase * 1000 + 1000 : 3 * (vip.intervalMs ?? 1000) + 1000;

    const { moved, ping: p } = await s.handover(s.secondary, () => s.lab.powerOff(s.primary), 1500);
    s.check(`${s.secondary} is master of every VIP after ${s.primary} lost power`, moved);
    s.check(`client traffic to ${target} resumed`, p.received > 0 && p.outageMs < 60_000, `${p.lost} of ${p.sent} lost, outage ${p.outageMs} ms`);
    s.check(`outage within the protocol bound (${boundMs} ms incl. 1 s slack)`, p.outageMs <= boundMs + 1000, `${p.outageMs} ms`);

    // Power back: the primary boots, comes up as BACKUP, then preempts.
    const offset = await s.lab.powerOn(s.primary);
    const ready = await s.lab.waitReady(s.primary, performance.now(), offset).then(() => true, () => false);
    s.check(`${s.primary} boots again`, ready);
    const ping2 = s.startPing('client', target, 10);
    const back = await s.waitForMaster(s.primary, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const p2 = await ping2.stop();
    s.report.figures.preemptPingLost = p2.lost;
    s.report.figures.preemptOutageMs = p2.outageMs;
    s.check(`${s.primary} preempts and is master again`, back !== undefined);
    s.recordNodes(back?.states ?? (await s.states()));
  },
};
