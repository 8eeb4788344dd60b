import { execa } from 'execa';
import { loadBoard } from '../config/board.js';
import { mapNics, type FoundNic } from '../config/nicmap.js';
import type { Site } from '../config/types.js';
import { loadActiveConfig } from './config-source.js';
import { Logger } from './log.js';
import { findNics } from './nics.js';
import { StateStore } from './store.js';

/**
 * `carpd boot`: the one-shot start-up step rcS runs before services start.
 * Names the board's ports WAN/LAN/SYNC, gives them this node's addresses from
 * the active site config, installs default routes, and counts the boot in the
 * persistent state.
 */
export interface NetworkPlan {
  renames: { from: string; to: string; rule: string; nic: FoundNic }[];
  addresses: { dev: string; cidr: string }[];
  routes: { via: string; dev: string; family: 4 | 6 }[];
  problems: string[];
}

/** Pure: what to do, given the board's mapping result and the site. */
export function planNetwork(site: Site, nodeName: string, roles: Record<string, string>, found: FoundNic[]): NetworkPlan {
  const node = site.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName} in the site config`);
  const plan: NetworkPlan = { renames: [], addresses: [], routes: [], problems: [] };
  for (const [role, ifname] of Object.entries(roles)) {
    const nic = found.find((n) => n.ifname === ifname)!;
    plan.renames.push({ from: ifname, to: role, rule: '', nic });
  }
  for (const [iface, cidrs] of Object.entries(node.interfaces)) {
    if (!roles[iface]) {
      plan.problems.push(`${iface}: the site gives it ${cidrs.join(', ')} but the board has no such port`);
      continue;
    }
    for (const cidr of cidrs) plan.addresses.push({ dev: iface, cidr });
  }
  for (const gw of site.gateways.filter((g) => g.isDefault)) {
    if (!roles[gw.interface]) continue;
    plan.routes.push({ via: gw.address, dev: gw.interface, family: gw.address.includes(':') ? 6 : 4 });
  }
  return plan;
}

/** Pure: the plan as `ip -batch` lines, in the order the kernel needs them (renames need the link down). */
export function ipBatch(plan: NetworkPlan): string[] {
  const lines: string[] = [];
  for (const r of plan.renames) {
    if (r.from !== r.to) lines.push(`link set dev ${r.from} down`, `link set dev ${r.from} name ${r.to}`);
  }
  for (const r of plan.renames) lines.push(`addr flush dev ${r.to}`);
  for (const a of plan.addresses) lines.push(`addr add ${a.cidr} dev ${a.dev}`);
  for (const r of plan.renames) lines.push(`link set dev ${r.to} up`);
  // the family of a default route follows from its gateway address
  for (const r of plan.routes) lines.push(`route replace default via ${r.via} dev ${r.dev}`);
  return lines;
}

export async function runBoot(opts: { node: string; factorySite: string; stateDir: string; board: string }): Promise<void> {
  const log = new Logger(opts.node);
  const store = new StateStore(opts.stateDir);
  const state = await store.updateState((s) => {
    s.bootCount = (s.bootCount ?? 0) + 1;
    s.lastBootAt = new Date().toISOString();
    s.firstBootAt ??= s.lastBootAt;
  });
  const active = await loadActiveConfig(store, opts.factorySite, opts.node);
  log.info('boot', { count: state.bootCount, config: active.source, revision: active.revision });

  const board = await loadBoard(opts.board);
  const found = await findNics();
  const mapping = mapNics(board, found);
  for (const e of mapping.errors) log.error(`nic mapping: ${e}`);
  const plan = planNetwork(active.site, opts.node, mapping.roles, found);
  for (const p of plan.problems) log.warn(p);

  // One `ip -batch` for the whole plan: a process start costs ~0.1 s under
  // emulation, and a boot plan is a dozen commands. -force carries on past a
  // failing line (say, an unreachable gateway); its errors are logged.
  const r = await execa('ip', ['-force', '-batch', '-'], { input: ipBatch(plan).join('\n') + '\n', reject: false });
  for (const line of String(r.stderr ?? '').split('\n').filter((l) => l && !l.startsWith('Command failed'))) {
    log.warn('network setup', { error: line });
  }
  for (const a of mapping.assignments) {
    const nic = found.find((n) => n.ifname === a.ifname);
    const addrs = plan.addresses.filter((x) => x.dev === a.role).map((x) => x.cidr);
    log.info(`interface ${a.role}`, {
      was: a.ifname,
      pci: nic?.pciPath,
      driver: nic?.driver,
      mac: nic?.mac,
      rule: a.rule,
      addresses: addrs.join(',') || '-',
    });
  }
}
