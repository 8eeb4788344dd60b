/**
 * Board definitions (board/*.ini): what the builder needs to know about one
 * kind of appliance, and how carpd finds its WAN/LAN/SYNC ports at boot.
 *
 *   [board]   name, description, arch, console, firmware, cmdline
 *   [modules] required, optional            kernel modules for this hardware
 *   [nic "WAN"] match, fallback             one per role (WAN, LAN, SYNC, OPTn)
 *   [disk]    size, config                  image and config partition sizes
 *
 * Same scanner and error style as site files.
 */
import { readFile } from 'node:fs/promises';
import { ErrorList } from './errors.js';
import { INTERFACE_NAME, INTERFACE_NAMES_ALLOWED, OBJECT_ALLOWED, OBJECT_NAME } from './names.js';
import { SectionReader, ValueError } from './reader.js';
import { scanIni, type ScannedSection } from './scan.js';

export type Arch = 'x86_64';
export type BootFirmware = 'bios' | 'uefi';
export const ARCHES: readonly Arch[] = ['x86_64'];
export const BOOT_FIRMWARES: readonly BootFirmware[] = ['bios', 'uefi'];

/** How to recognise a port: by PCI address, MAC address or kernel driver. */
export type NicSelector =
  | { kind: 'pci'; value: string }
  | { kind: 'mac'; value: string }
  | { kind: 'driver'; value: string };

export interface NicRole {
  /** WAN, LAN, SYNC or OPTn. */
  role: string;
  /** `match`: selectors tried in order; pci: and mac: name one port, driver: a kind of port. */
  match: NicSelector[];
  /**
   * `fallback`: when no selector matches, take the NIC at this index among the
   * ethernet NICs that no selector claimed, sorted by PCI address.
   */
  fallback: number;
}

export interface Board {
  /** `name`: the board id, also the file name (sg-4860). */
  name: string;
  /** `description`: human-readable. */
  description: string;
  /** `arch`: x86_64. */
  arch: Arch;
  /** `console`: serial console "device,baud" (ttyS0,115200), for kernel and bootloader. */
  console: { device: string; baud: number };
  /** `firmware`: boot firmware the image must support: bios, uefi (one or both). */
  firmware: BootFirmware[];
  /** `cmdline`: extra kernel command-line arguments for this board. */
  cmdline: string;
  /** [modules] `required` must load; `optional` are loaded when present (extra NIC cards). */
  modules: { required: string[]; optional: string[] };
  /** [nic "ROLE"] sections in file order. */
  nics: NicRole[];
  /** [disk] `size` of the whole image and `config` partition size, in bytes. */
  disk: { sizeBytes: number; configBytes: number };
}

const BAUD_RATES = [9600, 19200, 38400, 57600, 115200];
const MODULE_NAME = /^[a-z0-9_-]+$/;
const REQUIRED_ROLES = ['WAN', 'LAN', 'SYNC'];
const SELECTOR_ALLOWED = 'pci:0000:00:14.0, mac:00:08:a2:0a:0b:0c, driver:igb';
const MIB = 1024 * 1024;

export function parseBoard(text: string, file = 'board.ini'): Board {
  const errors = new ErrorList();
  const scanned = scanIni(text, file, errors);
  const board: Board = {
    name: '',
    description: '',
    arch: 'x86_64',
    console: { device: 'ttyS0', baud: 115200 },
    firmware: ['bios'],
    cmdline: '',
    modules: { required: [], optional: [] },
    nics: [],
    disk: { sizeBytes: 0, configBytes: 0 },
  };
  const seen = new Set<string>();
  for (const section of scanned.sections) {
    const r = new SectionReader(section, file, errors);
    seen.add(section.type);
    switch (section.type) {
      case 'board':
        if (noName(r)) readBoardSection(r, board);
        break;
      case 'modules':
        if (noName(r)) board.modules = readModules(r);
        break;
      case 'disk':
        if (noName(r)) board.disk = readDisk(r);
        break;
      case 'nic': {
        const nic = readNic(r);
        if (nic !== undefined) board.nics.push(nic);
        break;
      }
      default:
        r.error(undefined, `unknown section type "${section.type}"`, '[board], [modules], [nic "ROLE"], [disk]');
    }
  }
  for (const required of ['board', 'disk']) {
    if (!seen.has(required)) errors.add({ file, line: 1, message: `missing [${required}] section` });
  }
  checkNicRoles(scanned.sections, board.nics, file, errors);
  errors.throwIfAny();
  return board;
}

export async function loadBoard(path: string): Promise<Board> {
  return parseBoard(await readFile(path, 'utf8'), path);
}

function noName(r: SectionReader): boolean {
  if (r.section.name === undefined) return true;
  r.error(undefined, `[${r.section.type}] takes no name`, `[${r.section.type}]`);
  return false;
}

function readBoardSection(r: SectionReader, board: Board): void {
  board.name = r.string('name', { required: true, pattern: OBJECT_NAME, allowed: OBJECT_ALLOWED }) ?? '';
  board.description = r.raw('description') ?? '';
  board.arch = r.choice('arch', ARCHES, { required: true }) ?? 'x86_64';
  board.console = r.custom('console', parseConsole, { required: true }) ?? board.console;
  const firmware = r.list('firmware', { required: true });
  if (firmware !== undefined) {
    const bad = firmware.find((f) => !BOOT_FIRMWARES.some((b) => b === f));
    if (bad !== undefined) r.error('firmware', `"${bad}" is not a boot firmware`, BOOT_FIRMWARES.join(', '));
    else board.firmware = [...new Set(firmware as BootFirmware[])];
  }
  board.cmdline = r.raw('cmdline') ?? '';
  r.rejectUnknownKeys('name, description, arch, console, firmware, cmdline');
}

function parseConsole(text: string): Board['console'] {
  const match = /^(tty[A-Za-z]+[0-9]+),([0-9]+)$/.exec(text.replace(/\s+/g, ''));
  const allowed = `DEVICE,BAUD such as ttyS0,115200; baud one of ${BAUD_RATES.join(', ')}`;
  if (match === null || !BAUD_RATES.includes(Number(match[2]))) throw new ValueError(`"${text}" is not a serial console`, allowed);
  return { device: match[1] ?? '', baud: Number(match[2]) };
}

function readModules(r: SectionReader): Board['modules'] {
  const parseModule = (m: string) => {
    if (!MODULE_NAME.test(m)) throw new ValueError(`"${m}" is not a kernel module name`, 'lower-case letters, digits, _ and -');
    return m;
  };
  const required = r.customList('required', parseModule) ?? [];
  const optional = r.customList('optional', parseModule) ?? [];
  const both = optional.find((m) => required.includes(m));
  if (both !== undefined) r.error('optional', `${both} is also listed as required`);
  r.rejectUnknownKeys('required, optional');
  return { required, optional };
}

function readNic(r: SectionReader): NicRole | undefined {
  const role = r.section.name;
  if (role === undefined || !INTERFACE_NAME.test(role)) {
    r.error(undefined, role === undefined ? '[nic] needs a role name' : `"${role}" is not a port role`, INTERFACE_NAMES_ALLOWED);
    return undefined;
  }
  const match = r.customList('match', parseNicSelector) ?? [];
  const fallback = r.int('fallback', { required: true, min: 0, max: 63 });
  r.rejectUnknownKeys('match, fallback');
  if (fallback === undefined || r.broken) return undefined;
  return { role, match, fallback };
}

/** Parses "pci:0000:00:14.0", "mac:00:08:A2:..." or "driver:igb" into a normalised selector. */
export function parseNicSelector(text: string): NicSelector {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const value = text.slice(colon + 1).trim();
  switch (kind) {
    case 'pci': {
      const pci = normalizePciAddress(value);
      if (pci === undefined) throw new ValueError(`"${value}" is not a PCI address`, 'DDDD:BB:DD.F such as 0000:00:14.0');
      return { kind, value: pci };
    }
    case 'mac': {
      const mac = normalizeMac(value);
      if (mac === undefined) throw new ValueError(`"${value}" is not a MAC address`, 'six hex pairs such as 00:08:a2:0a:0b:0c');
      return { kind, value: mac };
    }
    case 'driver':
      if (!MODULE_NAME.test(value)) throw new ValueError(`"${value}" is not a driver name`, 'a kernel driver such as igb');
      return { kind, value };
    default:
      throw new ValueError(`"${text}" is not a NIC selector`, SELECTOR_ALLOWED);
  }
}

export function formatNicSelector(s: NicSelector): string {
  return `${s.kind}:${s.value}`;
}

/**
 * Finds the PCI address in "0000:00:14.0", "00:14.0", udev's
 * "pci-0000:00:14.0" or a sysfs path; returns "0000:00:14.0" form, lower case.
 */
export function normalizePciAddress(text: string): string | undefined {
  const matches = [...text.toLowerCase().matchAll(/(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])/g)];
  const last = matches[matches.length - 1];
  if (last === undefined) return undefined;
  return `${last[1] ?? '0000'}:${last[2]}:${last[3]}.${last[4]}`;
}

export function normalizeMac(text: string): string | undefined {
  const hex = text.toLowerCase().split(/[:-]/);
  if (hex.length !== 6 || hex.some((h) => !/^[0-9a-f]{2}$/.test(h))) return undefined;
  return hex.join(':');
}

function readDisk(r: SectionReader): Board['disk'] {
  const sizeBytes = r.custom('size', parseSize, { required: true }) ?? 0;
  const configBytes = r.custom('config', parseSize, { required: true }) ?? 0;
  r.rejectUnknownKeys('size, config');
  if (sizeBytes > 0 && configBytes >= sizeBytes) r.error('config', 'the config partition must be smaller than the disk', `less than ${formatSize(sizeBytes)}`);
  return { sizeBytes, configBytes };
}

/** "512M" -> bytes; K/M/G are powers of 1024; partitions are whole MiB for alignment. */
export function parseSize(text: string): number {
  const match = /^([0-9]+)\s*([KMG])i?B?$/i.exec(text.trim());
  const allowed = 'a size in whole MiB such as 32M, 512M, 2G';
  if (match === null) throw new ValueError(`"${text}" is not a size`, allowed);
  const unit = { K: 1024, M: MIB, G: 1024 * MIB }[(match[2] ?? 'M').toUpperCase() as 'K' | 'M' | 'G'];
  const bytes = Number(match[1]) * unit;
  if (bytes === 0 || bytes % MIB !== 0) throw new ValueError(`"${text}" is not a whole number of MiB`, allowed);
  return bytes;
}

/** Bytes -> "512M" / "2G" (the inverse of parseSize for whole MiB). */
export function formatSize(bytes: number): string {
  return bytes % (1024 * MIB) === 0 ? `${bytes / (1024 * MIB)}G` : `${bytes / MIB}M`;
}

/** WAN, LAN and SYNC must be present; fallbacks and exact selectors must not be shared. */
function checkNicRoles(sections: ScannedSection[], nics: NicRole[], file: string, errors: ErrorList): void {
  const lineOf = (role: string, key?: string) => {
    const s = sections.find((x) => x.type === 'nic' && x.name === role);
    return (key === undefined ? undefined : s?.keys.get(key)?.line) ?? s?.line ?? 1;
  };
  const declared = new Set(sections.filter((s) => s.type === 'nic').map((s) => s.name));
  for (const role of REQUIRED_ROLES) {
    if (!declared.has(role)) errors.add({ file, line: 1, message: `missing [nic "${role}"] section`, allowed: 'a [nic] section for each of WAN, LAN, SYNC' });
  }
  const fallbackOwner = new Map<number, string>();
  const selectorOwner = new Map<string, string>();
  for (const nic of nics) {
    const section = `[nic "${nic.role}"]`;
    const first = fallbackOwner.get(nic.fallback);
    if (first !== undefined) {
      errors.add({ file, line: lineOf(nic.role, 'fallback'), section, key: 'fallback', message: `${nic.fallback} is already the fallback of ${first}`, allowed: 'a distinct index per role' });
    } else {
      fallbackOwner.set(nic.fallback, nic.role);
    }
    for (const selector of nic.match.filter((s) => s.kind !== 'driver')) {
      const text = formatNicSelector(selector);
      const owner = selectorOwner.get(text);
      if (owner !== undefined) errors.add({ file, line: lineOf(nic.role, 'match'), section, key: 'match', message: `${text} already selects the ${owner} port` });
      else selectorOwner.set(text, nic.role);
    }
  }
}
