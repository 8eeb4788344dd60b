/**
 * The small expression languages used inside site values:
 *
 *   address expression  any | self | 192.0.2.1 | 192.0.2.0/24 | ALIAS | vip:NAME | net:IFACE
 *   port item           443 | 8000-8080 | PORT_ALIAS
 *   vip reference       vip:NAME (NAT translate, DHCP gateway/dns)
 *
 * Parsers return canonical text so that the Site model holds strings that
 * re-serialise identically; `resolve*` expand names against a Site.
 */
import { ALIAS_NAME, ALIAS_ALLOWED, INTERFACE_NAME, OBJECT_NAME } from './names.js';
import {
  NetError,
  formatCidr,
  formatIP,
  networkOf,
  parseAddressOrCidr,
  parseCidr,
  parseIP,
  type Cidr,
} from './net.js';
import { ValueError } from './reader.js';
import type { AliasDef, Site } from './types.js';

export type AddressRef =
  | { kind: 'any' }
  | { kind: 'self' }
  | { kind: 'cidr'; cidr: Cidr }
  | { kind: 'alias'; name: string }
  | { kind: 'vip'; name: string }
  | { kind: 'net'; iface: string };

export const ADDRESS_EXPR_ALLOWED = 'any, self, an address, address/prefix, an alias name, vip:NAME, net:IFACE';

/** Parses an address expression; throws ValueError/NetError with a message. */
export function parseAddressRef(text: string): AddressRef {
  const value = text.trim();
  if (value === 'any') return { kind: 'any' };
  if (value === 'self') return { kind: 'self' };
  if (value.startsWith('vip:')) return { kind: 'vip', name: vipName(value) };
  if (value.startsWith('net:')) {
    const iface = value.slice(4);
    if (!INTERFACE_NAME.test(iface)) throw new ValueError(`"${value}" names no interface`, 'net:WAN, net:LAN, net:SYNC, net:OPTn');
    return { kind: 'net', iface };
  }
  if (ALIAS_NAME.test(value)) return { kind: 'alias', name: value };
  try {
    return { kind: 'cidr', cidr: parseNetworkOrHost(value) };
  } catch (e) {
    if (e instanceof NetError) throw new ValueError(e.message, ADDRESS_EXPR_ALLOWED);
    throw e;
  }
}

export function formatAddressRef(ref: AddressRef): string {
  switch (ref.kind) {
    case 'any':
    case 'self':
      return ref.kind;
    case 'cidr':
      return formatNetworkOrHost(ref.cidr);
    case 'alias':
      return ref.name;
    case 'vip':
      return `vip:${ref.name}`;
    case 'net':
      return `net:${ref.iface}`;
  }
}

/** Canonical text of an address expression (used by the site parser). */
export function canonicalAddressRef(text: string): string {
  return formatAddressRef(parseAddressRef(text));
}

/**
 * A network (host bits must be clear: 192.0.2.0/24, not 192.0.2.1/24, which
 * is almost always a typo in a firewall rule) or a bare host address.
 */
export function parseNetworkOrHost(text: string): Cidr {
  const cidr = parseAddressOrCidr(text);
  const network = networkOf(cidr);
  if (network.value !== cidr.value) {
    throw new NetError(`"${text}" has host bits set`, `the network ${formatCidr(network)} or a single address`);
  }
  return cidr;
}

/** Host routes print as bare addresses, networks as address/prefix. */
export function formatNetworkOrHost(c: Cidr): string {
  return c.prefix === (c.family === 4 ? 32 : 128) ? formatIP(c) : formatCidr(c);
}

/** `vip:NAME` -> NAME; throws when the text is not a vip reference. */
export function vipName(text: string): string {
  const match = /^vip:(.+)$/.exec(text.trim());
  if (match === null || !OBJECT_NAME.test(match[1] ?? '')) {
    throw new ValueError(`"${text}" is not a vip reference`, 'vip:NAME');
  }
  return match[1] ?? '';
}

/** `vip:NAME` or an address, canonical text (DHCP gateway and DNS servers). */
export function canonicalVipOrAddress(text: string): string {
  const value = text.trim();
  if (value.startsWith('vip:')) return `vip:${vipName(value)}`;
  return formatIP(parseIP(value));
}

// ---- ports -----------------------------------------------------------------

export const PORT_ALLOWED = 'a port 1-65535, a range such as 8000-8080, or a port alias';

/** A port item: a number, a range "low-high", or an alias name (returned unchanged). */
export function canonicalPortItem(text: string): string {
  const value = text.trim();
  if (ALIAS_NAME.test(value)) return value;
  const range = /^([0-9]+)(?:\s*-\s*([0-9]+))?$/.exec(value);
  if (range === null) throw new ValueError(`"${value}" is not a port`, PORT_ALLOWED);
  const low = Number(range[1]);
  const high = range[2] === undefined ? low : Number(range[2]);
  if (low < 1 || high > 65535 || low > high) throw new ValueError(`"${value}" is not a valid port or range`, PORT_ALLOWED);
  return low === high ? String(low) : `${low}-${high}`;
}

export function isPortAliasName(item: string): boolean {
  return ALIAS_NAME.test(item);
}

// ---- alias members ---------------------------------------------------------

/** Canonical alias member for the alias type; names of other aliases pass through. */
export function canonicalAliasMember(type: AliasDef['type'], text: string): string {
  const value = text.trim();
  if (ALIAS_NAME.test(value)) return value;
  switch (type) {
    case 'host':
      return formatIP(parseIP(value));
    case 'network':
      return formatNetworkOrHost(parseNetworkOrHost(value));
    case 'port':
      return canonicalPortItem(value);
  }
}

export const ALIAS_MEMBER_ALLOWED: Record<AliasDef['type'], string> = {
  host: `addresses or host alias names (${ALIAS_ALLOWED})`,
  network: 'address/prefix networks, addresses, or network/host alias names',
  port: 'ports, ranges (8000-8080) or port alias names',
};

// ---- resolution against a site ---------------------------------------------

/**
 * The prefixes an address expression stands for; 'any' for any. `self` and
 * `net:` cover every node unless `nodeName` narrows them to one node. Unknown
 * names resolve to nothing (validation reports them).
 */
export function resolveAddressRef(site: Site, ref: AddressRef, nodeName?: string): Cidr[] | 'any' {
  switch (ref.kind) {
    case 'any':
      return 'any';
    case 'cidr':
      return [ref.cidr];
    case 'vip': {
      const vip = site.vips.find((v) => v.name === ref.name);
      return vip === undefined ? [] : [hostOf(parseCidr(vip.address))];
    }
    case 'net':
      return uniqueCidrs(nodesOf(site, nodeName).flatMap((n) => (n.interfaces[ref.iface] ?? []).map((a) => networkOf(parseCidr(a)))));
    case 'self':
      return uniqueCidrs([
        ...nodesOf(site, nodeName).flatMap((n) => Object.values(n.interfaces).flat().map((a) => hostOf(parseCidr(a)))),
        ...site.vips.map((v) => hostOf(parseCidr(v.address))),
      ]);
    case 'alias':
      return resolveAlias(site, ref.name, new Set());
  }
}

/** Expands an alias of type host or network to prefixes, following nested aliases. */
export function resolveAlias(site: Site, name: string, visiting: Set<string>): Cidr[] {
  const alias = site.aliases.find((a) => a.name === name);
  if (alias === undefined || alias.type === 'port' || visiting.has(name)) return [];
  visiting.add(name);
  const cidrs = alias.members.flatMap((m) => (ALIAS_NAME.test(m) ? resolveAlias(site, m, visiting) : [parseAddressOrCidr(m)]));
  visiting.delete(name);
  return uniqueCidrs(cidrs);
}

/** Expands port items (numbers, ranges, port aliases) to numbers and ranges. */
export function resolvePorts(site: Site, items: readonly string[], visiting = new Set<string>()): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (!ALIAS_NAME.test(item)) {
      out.push(item);
      continue;
    }
    const alias = site.aliases.find((a) => a.name === item && a.type === 'port');
    if (alias === undefined || visiting.has(item)) continue;
    visiting.add(item);
    out.push(...resolvePorts(site, alias.members, visiting));
    visiting.delete(item);
  }
  return [...new Set(out)];
}

function nodesOf(site: Site, nodeName: string | undefined) {
  return nodeName === undefined ? site.nodes : site.nodes.filter((n) => n.name === nodeName);
}

function hostOf(c: Cidr): Cidr {
  return { family: c.family, value: c.value, prefix: c.family === 4 ? 32 : 128 };
}

function uniqueCidrs(cidrs: Cidr[]): Cidr[] {
  const seen = new Map<string, Cidr>();
  for (const c of cidrs) seen.set(formatCidr(c), c);
  return [...seen.values()];
}
