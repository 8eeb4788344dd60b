import type { ScenarioRun } from './common.js';

/**
 * power-off: the seeds' test with the power cord. The master's QEMU is killed;
 * the client's ping through the LAN VIP measures the outage until the
 * secondary takes over, while TCP sessions and a download run from the
 * client to the upstream host through the VIPs and the outbound NAT (state
 * sync must carry them). Then the primary is powered back on and preempts,
 * again under sessions.
 */
/** Fewer than the rig's 200: the firewalls forward under TCG. */
const SESSIONS = { conns: 50, bulkMbps: 4 };

export const powerOff = {
  name: 'power-off',
  description: 'hard power-off of the master: the secondary takes over; power back: the primary preempts',
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('the power-off'))) return;
    const vip = s.lanVip;
    const target = vip.address;
    // CARP master-down bound: 3 x advbase + skew/256 s (VRRPv3: 3 x interval + skew time), plus TCG slack.
    const boundMs = vip.protocol === 'carp' ? 3 * vip.advbase * 1000 + 1000 : 3 * (vip.intervalMs ?? 1000) + 1000;

    const stopServer = await s.startSessionsServer();
    try {
      await run(s, boundMs, target);
    } finally {
      stopServer();
    }
  },
};

/** Power-off, then power back and preemption; the sessions server runs throughout. */
async function run(s: ScenarioRun, boundMs: number, target: string): Promise<void> {
  const probe = s.startSessions({ ...SESSIONS, seconds: 25, bulkMb: 6 });
  s.check('TCP sessions through the VIPs are up before the power-off', await probe.established());
  const { moved, ping: p } = await s.handover(s.secondary, () => s.lab.powerOff(s.primary), 1500);
  s.check(`${s.secondary} is master of every VIP after ${s.primary} lost power`, moved);
  s.check(`client traffic to ${target} resumed`, p.received > 0 && p.outageMs < 60_000, `${p.lost} of ${p.sent} lost, outage ${p.outageMs} ms`);
  s.check(`outage within the protocol bound (${boundMs} ms incl. 1 s slack)`, p.outageMs <= boundMs + 1000, `${p.outageMs} ms`);

  await s.checkSessions('power-off', await probe.result());

  // Power back: the primary boots, comes up as BACKUP, learns the table, then
  // preempts. The sessions run on the secondary from before the power-on, as
  // users' connections would: the download is paced to span boot and preemption.
  const probe2 = s.startSessions({ ...SESSIONS, seconds: 60, bulkMb: 12, bulkMbps: 2 });
  s.check('TCP sessions through the secondary are up before the power-on', await probe2.established());
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
  const r2 = await probe2.result();
  if (!('error' in r2)) s.report.figures.preemptSessionsLost = r2.sessionsLost;
  await s.checkSessions('preemption', r2);
  s.recordNodes(back?.states ?? (await s.states()));
}
