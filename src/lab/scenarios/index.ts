import type { Lab } from '../lab.js';
import { UserError } from '../../util/errors.js';
import { cablePull } from './cable-pull.js';
import { configSync } from './config-sync.js';
import { ScenarioRun, type ScenarioReport } from './common.js';
import { maintenance } from './maintenance.js';
import { powerOff } from './power-off.js';
import { settle } from './settle.js';
import { syncDown } from './sync-down.js';

export type { ScenarioReport } from './common.js';

export interface Scenario {
  name: string;
  description: string;
  run(s: ScenarioRun): Promise<void>;
}

/** Every scenario, in the order `lab run` runs them (settle first: the others start from a settled lab). */
export const SCENARIOS: Scenario[] = [settle, powerOff, cablePull, maintenance, syncDown, configSync];

export async function runScenario(lab: Lab, name: string, log: (line: string) => void): Promise<ScenarioReport> {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new UserError(`unknown scenario "${name}"`, `scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const run = new ScenarioRun(lab, name, log);
  try {
    await scenario.run(run);
  } catch (err) {
    run.check('scenario ran to the end', false, err instanceof Error ? err.message.split('\n')[0] : String(err));
  }
  return run.finish();
}

export function formatScenarioReport(r: ScenarioReport): string {
  const fig = (k: string, v: unknown) => (v === undefined ? [] : [`  ${k.padEnd(14)} ${String(v)}`]);
  return [
    `scenario ${r.scenario}: ${r.passed ? 'PASSED' : 'FAILED'} (${r.seconds} s)`,
    ...fig('master before', r.masterBefore),
    ...fig('master after', r.masterAfter),
    ...fig('ping lost', r.pingSent === undefined ? undefined : `${r.pingLost} of ${r.pingSent}`),
    ...fig('outage', r.outageMs === undefined ? undefined : `${r.outageMs} ms`),
    ...fig('takeover', r.takeoverMs === undefined ? undefined : `${r.takeoverMs} ms`),
    ...fig('sessions lost', r.sessionsTotal === undefined ? undefined : `${r.sessionsLost} of ${r.sessionsTotal}`),
    ...Object.entries(r.figures).flatMap(([k, v]) => fig(k, v)),
    ...r.checks.map((c) => `  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}${c.detail && !c.ok ? `: ${c.detail}` : ''}`),
  ].join('\n') + '\n';
}
