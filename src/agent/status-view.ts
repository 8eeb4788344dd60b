import type { CarpStatusView, VipStatusView } from './carp/service.js';
import { formatSyncStatus } from './configsync/cli.js';
import type { ConfigSyncStatus } from './configsync/config-sync.js';
import type { DataplaneStatus } from './dataplane/service.js';

/** Human rendering of `carpd status` (the JSON form is the raw object). */
export interface StatusView {
  version: string;
  nodeVersion: string;
  node: string;
  role: string;
  cluster: string;
  uptimeSec: number;
  bootCount: number;
  appliance: boolean;
  config: { revision: number; source: string; stateDir: string; persistent: boolean };
  interfaces: { name: string; up: boolean; mac?: string; addresses: string[] }[];
  /** The election as a whole (no per-VIP detail: that is in vips). */
  carp?: Omit<CarpStatusView, 'vips'>;
  /** Every configured VIP; the election fields are there once carpd runs it. */
  vips: Array<{ name: string; interface: string; address: string; vhid: number; protocol: string; advbase: number; advskew: number } & Partial<VipStatusView>>;
  /** Config sync (configsync/config-sync.ts). */
  sync?: ConfigSyncStatus;
  /** Firewall, sysctls and state sync (dataplane/service.ts). */
  dataplane?: DataplaneStatus;
}

function ago(iso: string | undefined): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function reasons(r: Record<string, number> | undefined): string {
  const list = Object.entries(r ?? {}).map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`);
  return list.length ? list.join(', ') : 'none';
}

function vipLines(v: StatusView['vips'][number]): string[] {
  const timing = v.protocol === 'carp'
    ? `advbase ${v.advbase} advskew ${v.advskew}${v.effectiveAdvskew !== undefined && v.effectiveAdvskew !== v.advskew ? ` (advertised ${v.effectiveAdvskew})` : ''}`
    : `interval ${v.intervalMs ?? '?'} ms priority ${v.priority ?? 254 - v.advskew}${v.effectivePriority !== undefined && v.effectivePriority !== v.priority ? ` (advertised ${v.effectivePriority})` : ''}`;
  const head = `  ${v.name.padEnd(8)} ${(v.state ?? '-').padEnd(7)} ${v.interface.padEnd(5)} ${v.address.padEnd(22)} ${v.protocol === 'carp' ? 'CARP' : 'VRRPv3'} vhid ${v.vhid} ${timing}${v.unicast ? ' unicast' : ''}`;
  if (v.counters === undefined) return [head];
  const c = v.counters;
  const dropped = Object.entries(c.dropped).map(([k, n]) => `${k} ${n}`).join(', ');
  const lines = [
    head,
    `           ${v.holding ? `holds the VIP on ${v.macvlan} (${v.vmac})` : `VIP released (${v.macvlan}, ${v.vmac})`}${v.handingOver ? ', handing over' : ''}`,
    `           last transition: ${v.lastTransition ? `${v.lastTransition.from} -> ${v.lastTransition.to} (${v.lastTransition.reason}) ${ago(v.lastTransition.at)}` : 'none'}`,
    `           adverts sent ${c.sent}, received ${c.received}, dropped ${c.droppedTotal}${dropped ? ` (${dropped})` : ''}`,
  ];
  if (v.pending) lines.push(`           pending: ${v.pending}`);
  if (c.conflicts > 0) lines.push(`           VHID CONFLICTS: ${c.conflicts}, last ${v.lastConflict ? `${v.lastConflict.detail} from ${v.lastConflict.from ?? '?'} ${ago(v.lastConflict.at)}` : '-'}`);
  return lines;
}

function dataplaneLines(d: DataplaneStatus): string[] {
  const f = d.firewall;
  const lines = [
    `firewall: ${!f.enabled ? 'off (--no-firewall)' : f.loaded ? `loaded ${ago(f.appliedAt ?? undefined)}, ${f.lines} lines` : 'NOT LOADED'}` +
      `${f.lastError ? `; last error ${ago(f.lastError.at)}: ${f.lastError.message.split('\n')[0]}` : ''}`,
    `  sysctls: ${d.sysctls.applied} set, ${d.sysctls.skipped} skipped${d.sysctls.failed.length ? `, FAILED: ${d.sysctls.failed.map((x) => x.key).join(', ')}` : ''}`,
  ];
  const ss = d.stateSync;
  if (!ss.enabled) return [...lines, `state sync: off (${ss.reason})`];
  const k = ss.conntrackd;
  lines.push(
    `state sync: ${ss.role}, conntrackd ${k.ready ? `running (pid ${k.pid})` : k.running ? 'starting' : 'NOT RUNNING'}${k.restarts ? `, ${k.restarts} restarts` : ''}`,
    `  peer: ${ss.peer ? `${ss.peer.name} ${ss.peer.address} ${ss.peer.reachable === null ? 'not heard yet' : ss.peer.reachable ? 'reachable' : 'UNREACHABLE'}` : 'none'}`,
    `  entries: internal ${ss.cache.internal ?? '-'}, external ${ss.cache.external ?? '-'}` +
      `${ss.messages ? `; messages lost ${ss.messages.lost}, malformed ${ss.messages.malformed}` : ''}`,
    `  last resync: ${ss.lastResync ? `${ss.lastResync.outcome} in ${ss.lastResync.durationMs} ms, ${ss.lastResync.entries} entries (${ss.lastResync.why}) ${ago(ss.lastResync.at)}` : 'none'}`,
    `  last promotion: ${ss.lastPromotion ? `${ss.lastPromotion.ok ? 'committed' : 'FAILED'} ${ss.lastPromotion.committed ?? '?'} entries, decision to commit ${ss.lastPromotion.decisionToCommitMs ?? '?'} ms${ss.lastPromotion.budgetExceeded ? ' (budget exceeded)' : ''} ${ago(ss.lastPromotion.at)}` : 'none'}`,
  );
  if (ss.holdoff.active) lines.push(`  HOLDING OFF preemption since ${ss.holdoff.since ?? '?'}: ${ss.holdoff.why ?? ''}`);
  if (ss.errors.count > 0) lines.push(`  errors: ${ss.errors.count}, last: ${ss.errors.recent.at(-1)?.message ?? '-'}`);
  return lines;
}

export function formatStatus(s: StatusView): string {
  const c = s.carp;
  const lines = [
    `carpd ${s.version} (node.js ${s.nodeVersion}) on ${s.node}, ${s.role} of cluster ${s.cluster}`,
    `uptime ${s.uptimeSec}s${s.appliance ? `, boot #${s.bootCount}` : ''}`,
    `config revision ${s.config.revision} in ${s.config.stateDir}${s.config.persistent ? '' : ' (NOT persistent: lost at reboot)'}`,
    '',
    'interfaces:',
    ...s.interfaces.map(
      (i) => `  ${i.name.padEnd(6)} ${(i.up ? 'up' : 'down').padEnd(5)} ${(i.mac ?? '-').padEnd(18)} ${i.addresses.join(' ') || '-'}`,
    ),
    '',
  ];
  if (c) {
    lines.push(
      `election: ${c.error ? `NOT RUNNING (${c.error})` : c.enabled ? 'enabled' : 'DISABLED (carpd carp enable)'}` +
        `${c.maintenance ? `, MAINTENANCE MODE${c.maintenanceSince ? ` since ${c.maintenanceSince}` : ''} (carpd maintenance leave)` : ''}`,
      `  demotion ${c.demotion.counter} (${reasons(c.demotion.reasons)})`,
      `  links: ${c.links.map((l) => `${l.interface} ${l.up ? 'up' : `DOWN (${l.operstate})`}`).join(', ') || '-'}`,
      ...c.sockets
        .filter((k) => !k.open || k.sendErrors > 0 || k.unknownVhid > 0 || k.malformed > 0)
        .map((k) => `  socket ${k.interface}/IPv${k.family}: ${k.open ? 'open' : 'CLOSED'}, send errors ${k.sendErrors}, other VHIDs ${k.unknownVhid}, malformed ${k.malformed}${k.lastError ? `, last error: ${k.lastError}` : ''}`),
      '',
    );
  }
  lines.push('virtual IPs:', ...(s.vips.length === 0 ? ['  none'] : s.vips.flatMap(vipLines)));
  if (s.dataplane) lines.push('', ...dataplaneLines(s.dataplane));
  if (s.sync) lines.push('', ...formatSyncStatus(s.sync));
  return lines.join('\n') + '\n';
}
