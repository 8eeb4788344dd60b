import type { ScenarioRun } from './common.js';

/**
 * maintenance: the seeds' test: a continuous ping, "Enter Persistent CARP
 * Maintenance Mode" on the primary, and no reply should go missing.
 */
export const maintenance = {
  name: 'maintenance',
  description: 'persistent maintenance mode on the primary hands over with no ping lost; leaving it hands back',
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('maintenance'))) return;
    const target = s.lanVip.address;
    const vm = await s.lab.vm(s.primary);
    const { moved, ping: p } = await s.handover(s.secondary, async () => {
      const enter = await vm.exec('carpd maintenance enter');
      s.check('carpd maintenance enter succeeds', enter.exitCode === 0, enter.stdout.trim());
    });
    s.check(`${s.secondary} is master during maintenance`, moved);
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
  },
};
