/**
 * Lab benchmark: one report of what a firmware build does in the QEMU lab.
 * Prints figures; asserts nothing about time.
 *
 *   node dist/test/bench/lab.js [--topology qemu/ha-pair.ini] [--scenarios a,b] [--json]
 *
 * 1. `lab down`, then `lab up` with the images already built (a cold build is
 *    test/bench/build.ts's figure): time to every carpd ready, per node
 *    boot-to-ready, and time from `lab up` to settled (the primary MASTER of
 *    every VIP, the secondary BACKUP) and so the primary's boot-to-MASTER.
 * 2. Every scenario (default: all), with its report's figures.
 * 3. `lab down`.
 *
 * --json prints the report on stdout; the commentary goes to stderr.
 */
import { parseArgs } from 'node:util';
import { buildImage } from '../../src/builder/pipeline.js';
import { REPO_ROOT } from '../../src/builder/agent.js';
import { DEFAULT_TOPOLOGY, Lab } from '../../src/lab/lab.js';
import { SCENARIOS, runScenario, type ScenarioReport } from '../../src/lab/scenarios/index.js';
import { ScenarioRun } from '../../src/lab/scenarios/common.js';
import { Progress } from '../../src/util/progress.js';
import { join } from 'node:path';

const { values } = parseArgs({
  options: {
    topology: { type: 'string', default: DEFAULT_TOPOLOGY },
    scenarios: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const say = (line: string) => process.stderr.write(line + '\n');

const lab = await Lab.open(values.topology);
const wanted = values.scenarios ? values.scenarios.split(',') : SCENARIOS.map((s) => s.name).filter((n) => n !== 'settle');

// Images first, so `lab up` below measures booting, not building.
for (const node of lab.topo.nodes) {
  await buildImage({ board: lab.topo.board, site: lab.topo.site, node: node.siteNode, out: join(REPO_ROOT, 'out/lab-images'), quiet: true });
}
await lab.down();

const t0 = performance.now();
const reports: ScenarioReport[] = [];
let upMs = 0;
let settledMs: number | undefined;
let accel: string | undefined;
try {
  const state = await lab.up(new Progress(4));
  upMs = performance.now() - t0;
  accel = state.accel;
  const probe = new ScenarioRun(lab, 'settle', () => {});
  const settled = await probe.waitForMaster(probe.primary, 90_000);
  settledMs = settled ? performance.now() - t0 : undefined;
  say(`lab up ${(upMs / 1000).toFixed(1)} s, settled ${settledMs === undefined ? 'never' : `${(settledMs / 1000).toFixed(1)} s`} after lab up`);
  reports.push(await runScenario(lab, 'settle', say));
  for (const name of wanted) {
    say(`-- ${name}`);
    reports.push(await runScenario(lab, name, say));
  }
} finally {
  await lab.down();
}

const nodes = Object.fromEntries(Object.entries(lab.state?.nodes ?? {}).map(([n, s]) => [n, { bootToReadyMs: s.bootToReadyMs }]));
const report = {
  topology: lab.topo.file,
  accel,
  labUpMs: Math.round(upMs),
  settledAfterLabUpMs: settledMs === undefined ? null : Math.round(settledMs),
  nodes,
  scenarios: reports.map((r) => ({ scenario: r.scenario, passed: r.passed, pingLost: r.pingLost, outageMs: r.outageMs, takeoverMs: r.takeoverMs, sessionsTotal: r.sessionsTotal, sessionsLost: r.sessionsLost, figures: r.figures })),
};

if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
else {
  const rows: Array<[string, string]> = [
    ['accelerator', String(accel).toUpperCase()],
    ['lab up (cached images) to every carpd ready', `${(report.labUpMs / 1000).toFixed(1)} s`],
    ['lab up to settled (primary MASTER of every VIP)', report.settledAfterLabUpMs === null ? 'never' : `${(report.settledAfterLabUpMs / 1000).toFixed(1)} s`],
    ...Object.entries(nodes).map(([n, v]): [string, string] => [`${n} boot to carpd ready`, v.bootToReadyMs === undefined ? '-' : `${(v.bootToReadyMs / 1000).toFixed(1)} s`]),
  ];
  for (const s of report.scenarios) {
    const figs = [
      s.pingLost === undefined ? '' : `ping lost ${s.pingLost}`,
      s.outageMs === undefined ? '' : `outage ${s.outageMs} ms`,
      s.takeoverMs === undefined ? '' : `takeover ${s.takeoverMs} ms`,
      s.sessionsTotal === undefined ? '' : `sessions lost ${s.sessionsLost}/${s.sessionsTotal}`,
      ...Object.entries(s.figures).map(([k, v]) => `${k} ${v}`),
    ].filter(Boolean);
    rows.push([`scenario ${s.scenario}: ${s.passed ? 'PASSED' : 'FAILED'}`, figs.join(', ')]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
}
process.exit(report.scenarios.every((s) => s.passed) ? 0 : 1);
