import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorList } from '../config/errors.js';
import { tryParseCidr, tryParseIP } from '../config/net.js';
import { SectionReader, ValueError } from '../config/reader.js';
import { scanIni } from '../config/scan.js';

/**
 * A lab topology (qemu/*.ini): which firewall VMs to boot, which networks
 * connect them, and which plain hosts (network namespaces) sit on those
 * networks. Same INI dialect and error style as site and board files.
 */
export type NetworkKind = 'bridged' | 'internal';
export type Firmware = 'bios' | 'uefi';

export interface LabNetwork {
  name: string;
  kind: NetworkKind;
}

export interface LabNode {
  name: string;
  /** The node of the site this VM boots (default: the section name). */
  siteNode: string;
  /** A prebuilt .qcow2; undefined = build board + site + node. */
  image?: string;
  memoryMiB: number;
  cpus: number;
  firmware: Firmware;
  model: string;
  /** In PCI slot order: slot 3 + index. */
  nics: { role: string; network: string }[];
}

export interface LabHost {
  name: string;
  network: string;
  addresses: string[];
  /** Each an address or vip:NAME. */
  gateways: string[];
}

export interface LabTopology {
  file: string;
  name: string;
  site: string;
  board: string;
  accel: 'auto' | 'kvm' | 'tcg';
  networks: LabNetwork[];
  nodes: LabNode[];
  hosts: LabHost[];
}

const NAME = /^[a-z][a-z0-9-]{0,9}$/;
const NAME_ALLOWED = 'lower-case letters, digits and -, starting with a letter, up to 10 characters (they become interface names)';

export function parseTopology(text: string, file: string): LabTopology {
  const errors = new ErrorList();
  const scanned = scanIni(text, file, errors);
  const topo: LabTopology = { file, name: '', site: '', board: 'qemu-x86_64', accel: 'auto', networks: [], nodes: [], hosts: [] };
  const base = dirname(file);
  const readers: SectionReader[] = [];
  for (const section of scanned.sections) {
    const r = new SectionReader(section, file, errors);
    readers.push(r);
    const name = section.name;
    if (section.type !== 'lab' && (name === undefined || !NAME.test(name))) {
      r.error(undefined, `name ${JSON.stringify(name ?? '')} is not valid`, NAME_ALLOWED);
      continue;
    }
    switch (section.type) {
      case 'lab':
        topo.name = r.string('name', { required: true, pattern: NAME, allowed: NAME_ALLOWED }) ?? '';
        topo.site = resolve(base, r.string('site', { required: true }) ?? '');
        topo.board = r.string('board') ?? 'qemu-x86_64';
        topo.accel = r.choice('accel', ['auto', 'kvm', 'tcg'] as const) ?? 'auto';
        r.rejectUnknownKeys('name, site, board, accel');
        break;
      case 'network':
        topo.networks.push({ name: name!, kind: r.choice('kind', ['bridged', 'internal'] as const, { required: true }) ?? 'bridged' });
        r.rejectUnknownKeys('kind');
        break;
      case 'node': {
        const image = r.string('image');
        topo.nodes.push({
          name: name!,
          siteNode: r.string('node') ?? name!,
          image: image ? resolve(base, image) : undefined,
          memoryMiB: r.int('memory', { min: 256, max: 65536 }) ?? 768,
          cpus: r.int('cpus', { min: 1, max: 64 }) ?? 1,
          firmware: r.choice('firmware', ['bios', 'uefi'] as const) ?? 'bios',
          model: r.string('model', { pattern: /^[a-z0-9-]+$/, allowed: 'a QEMU NIC model such as e1000, e1000e, virtio-net-pci' }) ?? 'e1000',
          nics:
            r.customList('nics', (item) => {
              const m = /^([A-Z][A-Z0-9]*):([a-z][a-z0-9-]*)$/.exec(item);
              if (!m) throw new ValueError(`"${item}" is not ROLE:network`, 'WAN:wan, LAN:lan, SYNC:sync');
              return { role: m[1]!, network: m[2]! };
            }, { required: true }) ?? [],
        });
        r.rejectUnknownKeys('node, image, memory, cpus, firmware, model, nics');
        break;
      }
      case 'host':
        topo.hosts.push({
          name: name!,
          network: r.string('network', { required: true }) ?? '',
          addresses:
            r.customList('addresses', (item) => {
              if (!tryParseCidr(item) || !item.includes('/')) throw new ValueError(`"${item}" is not address/prefix`);
              return item;
            }, { required: true }) ?? [],
          gateways:
            r.customList('gateway', (item) => {
              if (!item.startsWith('vip:') && !tryParseIP(item)) throw new ValueError(`"${item}" is not an address or vip:NAME`);
              return item;
            }) ?? [],
        });
        r.rejectUnknownKeys('network, addresses, gateway');
        break;
      default:
        r.error(undefined, `unknown section type "${section.type}"`, '[lab], [network "N"], [node "N"], [host "N"]');
    }
  }
  // Cross-references: every NIC and host names a known network; hosts only on bridged ones.
  const nets = new Map(topo.networks.map((n) => [n.name, n]));
  for (const r of readers) {
    const s = r.section;
    if (s.type === 'node') {
      const node = topo.nodes.find((n) => n.name === s.name);
      for (const nic of node?.nics ?? []) {
        if (!nets.has(nic.network)) r.error('nics', `network "${nic.network}" is not defined`, [...nets.keys()].join(', '));
      }
    }
    if (s.type === 'host') {
      const host = topo.hosts.find((h) => h.name === s.name);
      const net = host && nets.get(host.network);
      if (host && !net) r.error('network', `network "${host.network}" is not defined`, [...nets.keys()].join(', '));
      else if (net?.kind === 'internal') r.error('network', `"${net.name}" is internal: only VMs can join it`, 'a bridged network');
    }
  }
  if (!scanned.sections.some((s) => s.type === 'lab')) errors.add({ file, line: 1, message: 'missing [lab] section' });
  if (topo.nodes.length === 0) errors.add({ file, line: 1, message: 'no [node] sections: a lab needs at least one VM' });
  errors.throwIfAny();
  return topo;
}

export async function loadTopology(path: string): Promise<LabTopology> {
  return parseTopology(await readFile(path, 'utf8'), resolve(path));
}
