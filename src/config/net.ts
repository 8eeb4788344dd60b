/**
 * IPv4/IPv6 address and prefix helpers, written by hand (no dependencies).
 *
 * Addresses are held as bigint so that one code path serves both families.
 * `parse*` functions throw a `NetError` whose message says what is wrong;
 * `tryParse*` variants return undefined instead.
 */

export type Family = 4 | 6;

export interface IpAddress {
  family: Family;
  value: bigint;
}

/** An address with a prefix length; the address may have host bits set (203.0.113.2/24). */
export interface Cidr extends IpAddress {
  prefix: number;
}

export class NetError extends Error {
  constructor(
    message: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = 'NetError';
  }
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function bitsOf(family: Family): number {
  return BITS[family];
}

// ---- IPv4 ----------------------------------------------------------------

export function parseIPv4(text: string): IpAddress {
  const parts = text.split('.');
  if (parts.length !== 4) throw new NetError(`"${text}" is not an IPv4 address`, 'a.b.c.d');
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some tools read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) {
      throw new NetError(`"${text}" is not an IPv4 address`, 'four decimal numbers 0-255');
    }
    value = (value << 8n) | BigInt(part);
  }
  return { family: 4, value };
}

export function formatIPv4(value: bigint): string {
  const octets: number[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) octets.push(Number((value >> shift) & 0xffn));
  return octets.join('.');
}

// ---- IPv6 ----------------------------------------------------------------

export function parseIPv6(text: string): IpAddress {
  const bad = () => new NetError(`"${text}" is not an IPv6 address`, 'RFC 4291 text form, e.g. 2001:db8::1');
  if (text.includes('%')) throw new NetError(`"${text}": zone indexes are not allowed`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const compressed = halves.length === 2;
  // An embedded IPv4 tail (::ffff:192.0.2.1) may only end the text.
  const head = parseGroups(halves[0] ?? '', !compressed);
  const tail = compressed ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) throw bad();
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) throw bad();
  const zeros = new Array<bigint>(8 - count).fill(0n);
  let value = 0n;
  for (const group of [...head, ...zeros, ...tail]) value = (value << 16n) | group;
  return { family: 6, value };
}

// Colon-separated 16-bit groups of one side of "::"; an IPv4 tail counts as two groups.
function parseGroups(text: string, allowV4Tail: boolean): bigint[] | undefined {
  if (text === '') return [];
  const groups = text.split(':');
  const values: bigint[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] ?? '';
    if (allowV4Tail && i === groups.length - 1 && group.includes('.')) {
      const v4 = tryParseIPv4(group);
      if (v4 === undefined) return undefined;
      values.push(v4.value >> 16n, v4.value & 0xffffn);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) {
      values.push(BigInt(`0x${group}`));
    } else {
      return undefined;
    }
  }
  return values;
}

/** RFC 5952 canonical text: lower case, no leading zeros, longest zero run (2+ groups) as "::". */
export function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 section 5).
  if (value >> 32n === 0xffffn) return `::ffff:${formatIPv4(value & 0xffffffffn)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

// ---- either family ---------------------------------------------------------

export function parseIP(text: string): IpAddress {
  const trimmed = text.trim();
  if (trimmed.includes(':')) return parseIPv6(trimmed);
  if (/^[0-9.]+$/.test(trimmed)) return parseIPv4(trimmed);
  throw new NetError(`"${text}" is not an IP address`, 'an IPv4 or IPv6 address');
}

export function formatIP(ip: IpAddress): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

/** Parses "addr/prefix"; the prefix is required. */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0) throw new NetError(`"${text}" has no prefix length`, 'address/prefix, e.g. 192.0.2.1/24');
  const ip = parseIP(trimmed.slice(0, slash));
  const prefixText = trimmed.slice(slash + 1);
  const max = BITS[ip.family];
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    throw new NetError(`"${text}" has a bad prefix length "${prefixText}"`, `0-${max} for IPv${ip.family}`);
  }
  return { ...ip, prefix: Number(prefixText) };
}

/** Parses "addr/prefix" or a bare address (taken as a host route, /32 or /128). */
export function parseAddressOrCidr(text: string): Cidr {
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIP(text);
  return { ...ip, prefix: BITS[ip.family] };
}

export function formatCidr(c: Cidr): string {
  return `${formatIP(c)}/${c.prefix}`;
}

export function tryParseIPv4(text: string): IpAddress | undefined {
  return attempt(() => parseIPv4(text));
}
export function tryParseIP(text: string): IpAddress | undefined {
  return attempt(() => parseIP(text));
}
export function tryParseCidr(text: string): Cidr | undefined {
  return attempt(() => parseCidr(text));
}

function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (e instanceof NetError) return undefined;
    throw e;
  }
}

// ---- prefix arithmetic -----------------------------------------------------

/** The mask with `prefix` leading one bits, for the family's width. */
export function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network the address sits in: host bits cleared (203.0.113.2/24 -> 203.0.113.0/24). */
export function networkOf(c: Cidr): Cidr {
  return { family: c.family, prefix: c.prefix, value: c.value & prefixMask(c.family, c.prefix) };
}

/** The last address of the prefix (the IPv4 broadcast address). */
export function lastAddressOf(c: Cidr): IpAddress {
  const hostBits = (1n << BigInt(BITS[c.family] - c.prefix)) - 1n;
  return { family: c.family, value: networkOf(c).value | hostBits };
}

/** Dotted netmask for IPv4 (24 -> 255.255.255.0). */
export function netmaskOf(prefix: number): string {
  return formatIPv4(prefixMask(4, prefix));
}

export function cidrContains(net: Cidr, ip: IpAddress): boolean {
  if (net.family !== ip.family) return false;
  const mask = prefixMask(net.family, net.prefix);
  return (net.value & mask) === (ip.value & mask);
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContains(outer, inner);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** Two interface addresses are on one subnet when they share both prefix length and network. */
export function sameSubnet(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefix === b.prefix && cidrContains(a, b);
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/**
 * True when the address should not be given to an interface: the network
 * address (for IPv6 the subnet-router anycast address) or the IPv4 broadcast
 * address. Point-to-point prefixes (/31, /32, /127, /128) reserve nothing.
 */
export function isReservedHostAddress(c: Cidr): boolean {
  if (c.prefix >= BITS[c.family] - 1) return false;
  if (c.value === networkOf(c).value) return true;
  return c.family === 4 && c.value === lastAddressOf(c).value;
}
