import type { CarpStatusView, VipStatusView } from './carp/service.js';

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
  return lines.join('\n') + '\n';
}
