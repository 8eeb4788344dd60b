/**
 * A node's dataplane, from the site file. Pure: site + node + paths in,
 * everything the DataplaneService writes out:
 *
 *   - router sysctls, split where the ruleset loads: the conntrack settings
 *     (tcp_loose, tcp_be_liberal, ...) only exist once nf_conntrack is
 *     loaded, and the ruleset's `ct state` rules are what loads it;
 *   - the nftables ruleset, with VIP devices named as carpd's takeover names
 *     its macvlans (carp/plan.ts macvlanName: one source of truth);
 *   - conntrackd.conf (null when the site turns state sync off), with this
 *     node's own socket, lock, log and pid paths under the run dir, so that
 *     several nodes can run side by side on one host (namespace rigs), and
 *     no StartupResync (carpd requests every resync itself);
 *   - the state-sync transport (peer address, port), shared by the ruleset's
 *     SYNC rules and conntrackd.conf through the same options object.
 */
import { join } from 'node:path';
import type { Site } from '../../config/types.js';
import { macvlanName } from '../carp/plan.js';
import { renderRuleset, routerSysctls, type RulesetOptions, type Sysctl } from '../firewall/index.js';
import { renderConntrackdConf, stateSyncTransport, type StateSyncOptions, type StateSyncTransport } from '../statesync/index.js';

export interface ConntrackdPaths {
  dir: string;
  conf: string;
  socket: string;
  lockFile: string;
  logFile: string;
  /** Written by the supervisor: a restarted carpd finds (and stops) the conntrackd its predecessor left. */
  pidFile: string;
}

/** conntrackd's files under carpd's run dir. */
export function conntrackdPaths(runDir: string): ConntrackdPaths {
  const dir = join(runDir, 'conntrackd');
  return {
    dir,
    conf: join(dir, 'conntrackd.conf'),
    socket: join(dir, 'conntrackd.ctl'),
    lockFile: join(dir, 'conntrackd.lock'),
    logFile: join(dir, 'conntrackd.log'),
    pidFile: join(dir, 'conntrackd.pid'),
  };
}

export interface DataplanePlanOptions {
  paths: ConntrackdPaths;
  /** nf_conntrack_max; sizes conntrackd's caches and buffers too. Default: statesync's. */
  conntrackMax?: number;
  /** Transport knobs, shared by the ruleset and conntrackd.conf. */
  stateSync?: StateSyncOptions;
  /** Extra ruleset options (logging, DHCP HA port). */
  ruleset?: Omit<RulesetOptions, 'stateSync' | 'vipDevice'>;
}

export interface DataplanePlan {
  /** Applied before the ruleset. */
  sysctlsBefore: Sysctl[];
  /** Applied after it (they need nf_conntrack). */
  sysctlsAfter: Sysctl[];
  ruleset: string;
  /** null: state sync is off in the site. */
  conntrackd: string | null;
  transport: StateSyncTransport | null;
}

/** The ruleset options carpd uses: VIP devices named like its macvlans. */
export function rulesetOptions(opts: Pick<DataplanePlanOptions, 'stateSync' | 'ruleset'> = {}): RulesetOptions {
  return { ...opts.ruleset, vipDevice: (v) => macvlanName(v.interface, v.vhid), ...(opts.stateSync ? { stateSync: opts.stateSync } : {}) };
}

export function planDataplane(site: Site, node: string, opts: DataplanePlanOptions): DataplanePlan {
  const sysctls = routerSysctls(site, node, opts.conntrackMax === undefined ? {} : { conntrackMax: opts.conntrackMax });
  const stateSync = site.sync.stateSync;
  const p = opts.paths;
  return {
    sysctlsBefore: sysctls.filter((s) => s.needs === undefined),
    sysctlsAfter: sysctls.filter((s) => s.needs !== undefined),
    ruleset: renderRuleset(site, node, rulesetOptions(opts)),
    conntrackd: stateSync
      ? renderConntrackdConf(site, node, {
          socketPath: p.socket,
          lockFile: p.lockFile,
          logFile: p.logFile,
          // carpd asks for the resync itself (sync-driver.ts: at start, on demotion, after a
          // conntrackd restart) and times its arrival. conntrackd's own StartupResync would
          // request a second full bulk (measured: a restarted backup received 100,000 state
          // messages for a 50,000-entry table) that arrives before carpd's request, so
          // lastResync saw no change and reported 0 ms.
          startupResync: false,
          ...(opts.stateSync ? { stateSync: opts.stateSync } : {}),
          ...(opts.conntrackMax === undefined ? {} : { conntrackMax: opts.conntrackMax }),
        })
      : null,
    transport: stateSync ? stateSyncTransport(site, node, opts.stateSync) : null,
  };
}
