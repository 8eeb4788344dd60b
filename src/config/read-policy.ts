/**
 * Readers for [alias], [rule] and [nat]: per-value rules only; references
 * between sections are checked in validate-policy.ts.
 */
import { NetError } from './net.js';
import { ValueError, type SectionReader } from './reader.js';
import { ALIAS_MEMBER_ALLOWED, canonicalAddressRef, canonicalAliasMember, canonicalPortItem, vipName } from './refs.js';
import { IFACE } from './read-network.js';
import { ALIAS_TYPES, NAT_TYPES, RULE_ACTIONS, RULE_PROTOCOLS, type AliasDef, type NatDef, type RuleDef } from './types.js';

// ---- [alias], [rule], [nat] --------------------------------------------------

export function readAlias(r: SectionReader, name: string): AliasDef | undefined {
  const type = r.choice('type', ALIAS_TYPES, { required: true });
  const members = type === undefined ? r.list('members', { required: true }) : r.customList('members', (m) => canonicalAliasMemberOrExplain(type, m), { required: true });
  const description = r.raw('description');
  r.rejectUnknownKeys('type, members, description');
  if (type === undefined || members === undefined) return undefined;
  const alias: AliasDef = { name, type, members };
  if (description !== undefined) alias.description = description;
  return alias;
}

function canonicalAliasMemberOrExplain(type: AliasDef['type'], member: string): string {
  try {
    return canonicalAliasMember(type, member);
  } catch (e) {
    if (e instanceof NetError || e instanceof ValueError) throw new ValueError(e.message, ALIAS_MEMBER_ALLOWED[type]);
    throw e;
  }
}

export function readRule(r: SectionReader, name: string): RuleDef | undefined {
  const iface = r.string('interface', { required: true, ...IFACE });
  const action = r.choice('action', RULE_ACTIONS, { required: true });
  const protocol = r.choice('protocol', RULE_PROTOCOLS) ?? 'any';
  const source = r.custom('source', canonicalAddressRef) ?? 'any';
  const destination = r.custom('destination', canonicalAddressRef) ?? 'any';
  const ports = r.customList('port', canonicalPortItem) ?? [];
  const log = r.bool('log', false);
  const description = r.raw('description');
  r.rejectUnknownKeys('interface, action, protocol, source, destination, port, log, description');
  if (ports.length > 0 && !['tcp', 'udp', 'tcp/udp'].includes(protocol)) {
    r.error('port', `ports need protocol tcp, udp or tcp/udp (protocol is ${protocol})`, 'protocol = tcp, udp or tcp/udp');
  }
  if (iface === undefined || action === undefined) return undefined;
  const rule: RuleDef = { name, interface: iface, action, protocol, source, destination, ports, log };
  if (description !== undefined) rule.description = description;
  return rule;
}

const NAT_SOURCE_ALLOWED = 'the inside network(s): address/prefix, an alias, net:LAN';

export function readNat(r: SectionReader, name: string): NatDef | undefined {
  const type = r.choice('type', NAT_TYPES) ?? 'outbound';
  const iface = r.string('interface', IFACE) ?? 'WAN';
  const source = r.custom('source', canonicalAddressRef, { required: true });
  const destination = r.custom('destination', canonicalAddressRef) ?? 'any';
  const translate = r.custom('translate', (v) => `vip:${vipName(v)}`, { required: true });
  const description = r.raw('description');
  r.rejectUnknownKeys('type, interface, source, destination, translate, description');
  // Seeds (pfSense HA guide): never add outbound NAT rules that could match the
  // cluster's own WAN addresses; `any` as a source does, and breaks the backup's
  // own outbound traffic.
  if (source === 'any') r.error('source', 'any would also translate the nodes\' own WAN addresses', NAT_SOURCE_ALLOWED);
  if (source === 'self') r.error('source', 'self is the firewall\'s own addresses, which must never be translated', NAT_SOURCE_ALLOWED);
  if (source === undefined || translate === undefined) return undefined;
  const nat: NatDef = { name, type, interface: iface, source, destination, translate };
  if (description !== undefined) nat.description = description;
  return nat;
}
