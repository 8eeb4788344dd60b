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
  vips: { name: string; interface: string; address: string; vhid: number; protocol: string; advbase: number; advskew: number }[];
}

export function formatStatus(s: StatusView): string {
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
    'virtual IPs (configured):',
    ...(s.vips.length === 0
      ? ['  none']
      : s.vips.map(
          (v) =>
            `  ${v.name.padEnd(8)} ${v.interface.padEnd(5)} ${v.address.padEnd(22)} ${v.protocol} vhid ${v.vhid} advbase ${v.advbase} advskew ${v.advskew}`,
        )),
  ];
  return lines.join('\n') + '\n';
}
