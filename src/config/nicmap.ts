/**
 * Which kernel interface is WAN, LAN, SYNC? A pure function of the board and
 * the NICs the kernel found, so carpd can rename interfaces at boot and the
 * decision can be unit-tested.
 *
 * 1. Selectors: each role (in board order) tries its `match` selectors in
 *    order. pci: and mac: name one port; if another role already holds that
 *    port, that is a conflict (the board file is wrong), not a reason to guess.
 *    driver: takes the first port of that driver nobody holds yet.
 * 2. Fallback: roles no selector matched take the NIC at index `fallback` in
 *    the list of NICs no selector claimed, sorted by PCI address (NICs
 *    without one last, by name). Indexes refer to that one list, so the result
 *    does not depend on the order roles are processed in.
 */
import { formatNicSelector, normalizeMac, normalizePciAddress, type Board, type NicSelector } from './board.js';

/** An ethernet interface as the agent sees it in /sys/class/net (loopback and virtual devices excluded). */
export interface FoundNic {
  ifname: string;
  /** PCI address (sysfs device basename, or udev ID_PATH), e.g. 0000:00:14.0. */
  pciPath?: string;
  mac: string;
  /** Kernel driver bound to the device, e.g. igb. */
  driver?: string;
}

export interface NicAssignment {
  role: string;
  ifname: string;
  /** What decided it: "pci:0000:00:14.0", "mac:...", "driver:igb" or "fallback 1". */
  rule: string;
}

export interface NicMapResult {
  /** True when every role got a NIC and nothing conflicted. */
  ok: boolean;
  /** role -> interface name, e.g. { WAN: 'eth0', LAN: 'eth1', SYNC: 'eth2' }. */
  roles: Record<string, string>;
  assignments: NicAssignment[];
  /** Roles without a NIC (missing hardware or a conflict). */
  missing: string[];
  /** Interfaces no role took, sorted by PCI address. */
  unassigned: string[];
  /** Human-readable problems, one per line, for the boot log. */
  errors: string[];
}

export function mapNics(board: Pick<Board, 'nics'>, found: readonly FoundNic[]): NicMapResult {
  const sorted = [...found].sort(byPciAddress);
  const holder = new Map<string, string>(); // ifname -> role
  const assignments: NicAssignment[] = [];
  const errors: string[] = [];
  const failed = new Set<string>();

  const assign = (role: string, nic: FoundNic, rule: string) => {
    holder.set(nic.ifname, role);
    assignments.push({ role, ifname: nic.ifname, rule });
  };

  // 1. selectors
  const unmatched: Board['nics'] = [];
  for (const nic of board.nics) {
    const result = matchSelectors(nic.match, sorted, holder);
    if (result.kind === 'matched') assign(nic.role, result.nic, result.rule);
    else if (result.kind === 'conflict') {
      errors.push(`${nic.role}: ${result.rule} selects ${result.nic.ifname}, which ${holder.get(result.nic.ifname) ?? '?'} already holds`);
      failed.add(nic.role);
    } else unmatched.push(nic);
  }

  // 2. fallback, indexed into the NICs left after step 1
  const remaining = sorted.filter((n) => !holder.has(n.ifname));
  for (const nic of unmatched) {
    const pick = remaining[nic.fallback];
    if (pick === undefined) {
      const left = remaining.map((n) => n.ifname).join(', ') || 'none';
      errors.push(`${nic.role}: no selector matched and fallback ${nic.fallback} is past the ${remaining.length} unclaimed NIC(s) (${left})`);
      failed.add(nic.role);
    } else if (holder.has(pick.ifname)) {
      errors.push(`${nic.role}: fallback ${nic.fallback} is ${pick.ifname}, which ${holder.get(pick.ifname) ?? '?'} already holds`);
      failed.add(nic.role);
    } else {
      assign(nic.role, pick, `fallback ${nic.fallback}`);
    }
  }

  const roles: Record<string, string> = {};
  for (const a of assignments) roles[a.role] = a.ifname;
  const missing = board.nics.map((n) => n.role).filter((r) => roles[r] === undefined);
  return {
    ok: errors.length === 0 && missing.length === 0,
    roles,
    assignments: board.nics.flatMap((n) => assignments.filter((a) => a.role === n.role)),
    missing,
    unassigned: sorted.filter((n) => !holder.has(n.ifname)).map((n) => n.ifname),
    errors,
  };
}

type MatchResult =
  | { kind: 'matched'; nic: FoundNic; rule: string }
  | { kind: 'conflict'; nic: FoundNic; rule: string }
  | { kind: 'none' };

function matchSelectors(selectors: readonly NicSelector[], nics: readonly FoundNic[], holder: ReadonlyMap<string, string>): MatchResult {
  for (const selector of selectors) {
    const rule = formatNicSelector(selector);
    const candidates = nics.filter((n) => selects(selector, n));
    if (selector.kind === 'driver') {
      const free = candidates.find((n) => !holder.has(n.ifname));
      if (free !== undefined) return { kind: 'matched', nic: free, rule };
      continue;
    }
    const exact = candidates[0];
    if (exact === undefined) continue;
    return holder.has(exact.ifname) ? { kind: 'conflict', nic: exact, rule } : { kind: 'matched', nic: exact, rule };
  }
  return { kind: 'none' };
}

function selects(selector: NicSelector, nic: FoundNic): boolean {
  switch (selector.kind) {
    case 'pci':
      return nic.pciPath !== undefined && normalizePciAddress(nic.pciPath) === selector.value;
    case 'mac':
      return normalizeMac(nic.mac) === selector.value;
    case 'driver':
      return nic.driver === selector.value;
  }
}

function byPciAddress(a: FoundNic, b: FoundNic): number {
  const pa = a.pciPath === undefined ? undefined : normalizePciAddress(a.pciPath);
  const pb = b.pciPath === undefined ? undefined : normalizePciAddress(b.pciPath);
  if (pa !== pb) {
    if (pa === undefined) return 1;
    if (pb === undefined) return -1;
    return pa < pb ? -1 : 1;
  }
  return a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0;
}
