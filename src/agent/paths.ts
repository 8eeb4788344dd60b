import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where carpd finds things. On an appliance (built by carpenter) everything
 * has a fixed place; on any other host (the namespace rigs, a user's own
 * machine) the command line says where, and the run dir defaults to the
 * state dir so several carpd can run side by side.
 */
export const APPLIANCE = {
  factorySite: '/etc/carpenter/site.ini',
  board: '/etc/carpenter/board.ini',
  nodeFile: '/etc/carpenter/node',
  buildInfo: '/etc/carpenter/build.json',
  configMount: '/cfg',
  stateDir: '/cfg/carpd',
  /** Used when /cfg is not mounted: settings then last until reboot only. */
  volatileStateDir: '/run/carpd/state',
  runDir: '/run/carpd',
};

export function isAppliance(): boolean {
  return existsSync(APPLIANCE.nodeFile);
}

export interface AgentPaths {
  /** The site file the agent starts from when its state dir has none. */
  factorySite: string;
  /** Node name, or undefined to read it from the appliance. */
  node?: string;
  stateDir: string;
  runDir: string;
  board?: string;
}

export function controlSocket(runDir: string): string {
  return join(runDir, 'carpd.sock');
}
