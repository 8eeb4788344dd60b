import type { ScenarioRun } from './common.js';

/** cable-pull: the master's LAN cable is pulled: WAN and LAN VIPs move together; plugged back, they return. */
export const cablePull = {
  name: 'cable-pull',
  description: "the master's LAN link goes down: both VIPs move to the secondary; link back: they return",
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('the cable pull'))) return;
    const t0 = performance.now();
    await s.lab.setLink(s.primary, 'LAN', false);
    const moved = await s.waitForMaster(s.secondary, 30_000);
    s.report.takeoverMs = moved ? Math.round(performance.now() - t0) : undefined;
    s.report.masterAfter = moved ? s.secondary : undefined;
    s.check(`every VIP (WAN and LAN) moved to ${s.secondary}`, moved !== undefined, moved ? undefined : JSON.stringify(await s.states()));
    await s.lab.setLink(s.primary, 'LAN', true);
    const back = await s.waitForMaster(s.primary, 30_000);
    s.check(`link back: ${s.primary} is master again`, back !== undefined);
    s.recordNodes(back?.states ?? (await s.states()));
  },
};
