/**
 * Readers for [cluster], [sync], [node], [vip] and [gateway]: per-value rules
 * only (ranges, formats, required and unknown keys); relations between
 * sections are checked in validate-network.ts.
 */
import { DOMAIN_NAME, HOSTNAME_ALLOWED, HOSTNAME_LABEL, INTERFACE_NAME, INTERFACE_NAMES_ALLOWED, USER_ALLOWED, USER_NAME } from './names.js';
import { NetError, formatCidr, formatIP, isReservedHostAddress, parseCidr } from './net.js';
import { ValueError, type SectionReader } from './reader.js';
import { ROLES, SYNC_AREAS, VIP_PROTOCOLS, type ClusterDef, type GatewayDef, type NodeDef, type SyncArea, type SyncDef, type VipDef } from './types.js';

// ---- [cluster] and [sync] ----------------------------------------------------

export function readCluster(r: SectionReader): ClusterDef {
  const cluster: ClusterDef = {
    name: r.string('name', { required: true, pattern: HOSTNAME_LABEL, allowed: HOSTNAME_ALLOWED }) ?? '',
    secondarySkewOffset: r.int('secondary_skew_offset', { min: 1, max: 254 }) ?? 100,
    preempt: r.bool('preempt', true),
  };
  const domain = r.string('domain', { pattern: DOMAIN_NAME, allowed: 'a DNS domain such as example.net' });
  if (domain !== undefined) cluster.domain = domain;
  r.rejectUnknownKeys('name, domain, secondary_skew_offset, preempt');
  return cluster;
}

export function defaultSync(): SyncDef {
  return { interface: 'SYNC', areas: [...SYNC_AREAS], stateSync: true, configSync: true, port: 8443, username: 'admin' };
}

export function readSync(r: SectionReader): SyncDef {
  const sync = defaultSync();
  sync.interface = r.string('interface', { pattern: INTERFACE_NAME, allowed: INTERFACE_NAMES_ALLOWED }) ?? sync.interface;
  const areas = r.list('areas');
  if (areas !== undefined) sync.areas = readAreas(r, areas) ?? sync.areas;
  sync.stateSync = r.bool('state_sync', true);
  sync.configSync = r.bool('config_sync', true);
  sync.port = r.int('port', { min: 1, max: 65535 }) ?? sync.port;
  sync.username = r.string('username', { pattern: USER_NAME, allowed: USER_ALLOWED }) ?? sync.username;
  const password = r.raw('password');
  if (password !== undefined) sync.password = password;
  if (sync.configSync && password === undefined && !r.has('password')) {
    r.error(undefined, 'missing required key "password" (config_sync = yes)');
  }
  if (!r.bool('tofu', true)) sync.tofu = false;
  r.rejectUnknownKeys('interface, areas, state_sync, config_sync, port, username, password, tofu');
  return sync;
}

function readAreas(r: SectionReader, items: string[]): SyncArea[] | undefined {
  if (items.length === 1 && items[0] === 'none') return [];
  const areas: SyncArea[] = [];
  for (const item of items) {
    const area = SYNC_AREAS.find((a) => a === item);
    if (area === undefined) {
      r.error('areas', `"${item}" is not a sync area`, `${SYNC_AREAS.join(', ')} (or none)`);
      return undefined;
    }
    if (areas.includes(area)) {
      r.error('areas', `"${item}" is listed twice`);
      return undefined;
    }
    areas.push(area);
  }
  return areas;
}

// ---- [node] -----------------------------------------------------------------

export function readNode(r: SectionReader, name: string): NodeDef | undefined {
  const role = r.choice('role', ROLES, { required: true });
  const skewOffset = r.int('skew_offset', { min: 0, max: 254 });
  const fingerprint = r.custom('fingerprint', parseFingerprint);
  const interfaces: Record<string, string[]> = {};
  for (const key of r.section.keys.keys()) {
    if (!INTERFACE_NAME.test(key)) continue;
    const cidrs = r.customList(key, parseInterfaceAddress);
    if (cidrs === undefined) continue;
    const duplicate = cidrs.find((c, i) => cidrs.indexOf(c) !== i);
    if (duplicate !== undefined) r.error(key, `${duplicate} is listed twice`);
    interfaces[key] = [...new Set(cidrs)];
  }
  r.rejectUnknownKeys(`role, skew_offset, fingerprint, ${INTERFACE_NAMES_ALLOWED}`);
  if (role === undefined) return undefined;
  const node: NodeDef = { name, role, interfaces };
  if (skewOffset !== undefined) node.skewOffset = skewOffset;
  if (fingerprint !== undefined) node.fingerprint = fingerprint;
  return node;
}

/** A SHA-256 certificate fingerprint: 32 hex pairs, colons optional, any case, "SHA256:" prefix allowed. */
export function parseFingerprint(text: string): string {
  const hex = text.replace(/^sha-?256[:=]?/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ValueError(`"${text.slice(0, 24)}..." is not a SHA-256 fingerprint`, 'AB:CD:... (32 hex pairs), as carpd status shows it');
  return (hex.match(/../g) ?? []).join(':');
}

/** An interface address: address/prefix with host bits (203.0.113.2/24), not a network or broadcast address. */
export function parseInterfaceAddress(text: string): string {
  const cidr = parseCidr(text);
  if (isReservedHostAddress(cidr)) {
    throw new NetError(`${formatCidr(cidr)} is the network or broadcast address of its prefix`, 'a host address with its prefix, e.g. 192.0.2.2/24');
  }
  return formatCidr(cidr);
}

// ---- [vip] and [gateway] -------------------------------------------------------

export const IFACE = { pattern: INTERFACE_NAME, allowed: INTERFACE_NAMES_ALLOWED };

export function readVip(r: SectionReader, name: string): VipDef | undefined {
  const iface = r.string('interface', { required: true, ...IFACE });
  const address = r.custom('address', parseInterfaceAddress, { required: true });
  const vhid = r.int('vhid', { required: true, min: 1, max: 255 });
  const protocol = r.choice('protocol', VIP_PROTOCOLS) ?? 'carp';
  const advskew = r.int('advskew', { min: 0, max: 254 }) ?? 0;
  const advbase = r.int('advbase', { min: 1, max: 255 }) ?? 1;
  const intervalMs = r.int('interval_ms', { min: 10, max: 40950, step: 10 });
  const password = r.raw('password');
  const description = r.raw('description');
  const unicast = r.bool('unicast', false);
  r.rejectUnknownKeys('interface, address, vhid, protocol, advbase, advskew, interval_ms, password, unicast, description');

  if (protocol === 'carp') {
    if (r.has('interval_ms')) r.error('interval_ms', 'only for protocol = vrrp3; CARP uses advbase (seconds)', 'advbase');
    if (password === undefined && !r.has('password')) r.error(undefined, 'missing required key "password" (CARP authenticates with it)');
  } else {
    if (r.has('advbase')) r.error('advbase', 'only for protocol = carp; VRRPv3 uses interval_ms', 'interval_ms');
    if (r.has('password')) r.error('password', 'VRRPv3 has no authentication; remove the password or use protocol = carp');
  }
  if (iface === undefined || address === undefined || vhid === undefined) return undefined;

  const vip: VipDef = { name, interface: iface, address, vhid, protocol, advbase, advskew };
  if (protocol === 'vrrp3') vip.intervalMs = intervalMs ?? 1000;
  if (protocol === 'carp' && password !== undefined) vip.password = password;
  if (unicast) vip.unicast = true;
  if (description !== undefined) vip.description = description;
  return vip;
}

export function readGateway(r: SectionReader, name: string): GatewayDef | undefined {
  const iface = r.string('interface', { required: true, ...IFACE });
  const address = r.custom('address', (v) => formatIP(parseHostAddress(v)), { required: true });
  const isDefault = r.bool('default', true);
  const description = r.raw('description');
  r.rejectUnknownKeys('interface, address, default, description');
  if (iface === undefined || address === undefined) return undefined;
  const gateway: GatewayDef = { name, interface: iface, address, isDefault };
  if (description !== undefined) gateway.description = description;
  return gateway;
}

export function parseHostAddress(text: string) {
  if (text.includes('/')) throw new ValueError(`"${text}" has a prefix; give the bare next-hop address`, 'an IPv4 or IPv6 address');
  return parseCidr(`${text}/${text.includes(':') ? 128 : 32}`);
}
