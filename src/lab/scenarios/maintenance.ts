import type { ScenarioRun } from './common.js';

/**
 * maintenance: the seeds' test: a continuous ping, "Enter Persistent CARP
 * Maintenance Mode" on the primary, and no reply should go missing.
 */
export const maintenance = {
  name: 'maintenance',
  description: 'persistent maintenance mode on the primary hands over with no ping lost; leaving it hands back',
  async run(s: ScenarioRun): Promise<void> {
    const before = await s.waitForMaster(s.primary, 90_000);
    s.report.masterBefore = before ? s.primary : undefined;
    if (!s.check(`${s.primary} is master before maintenance`, before !== undefined)) return;
    const target = s.lab.site.vips.find((v) => v.interface === 'LAN' && !v.address.includes(':'))!.address.split('/')[0]!;
    const vm = await s.lab.vm(s.primary);
    try {
      const ping = s.startPing('client', target, 10);
      await new Promise((r) => setTimeout(r, 1000));
      const t0 = performance.now();
      const enter = await vm.exec('carpd maintenance enter');
      s.check('carpd maintenance enter succeeds', enter.exitCode === 0, enter.stdout.trim());
      const moved = await s.waitForMaster(s.secondary, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      const p = await ping.stop();
      s.report.takeoverMs = moved ? Math.round(performance.now() - t0 - 1000) : undefined;
      s.report.masterAfter = moved ? s.secondary : undefined;
      s.report.pingSent = p.sent;
      s.report.pingLost = p.lost;
      s.report.outageMs = p.outageMs;
      s.check(`${s.secondary} is master during maintenance`, moved !== undefined);
      s.check('no ping lost during the handover', p.lost === 0, `${p.lost} of ${p.sent} lost`);

      const ping2 = s.startPing('client', target, 10);
      const leave = await vm.exec('carpd maintenance leave');
      s.check('carpd maintenance leave succeeds', leave.exitCode === 0, leave.stdout.trim());
      const back = await s.waitForMaster(s.primary, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      const p2 = await ping2.stop();
      s.report.figures.leavePingLost = p2.lost;
      s.check(`${s.primary} is master again after leaving maintenance`, back !== undefined);
      s.recordNodes(back?.states ?? (await s.states()));
    } finally {
      vm.detach();
    }
  },
};
