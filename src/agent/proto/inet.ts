// Small, dependency-free IP helpers shared by the CARP and VRRPv3 codecs:
// address text <-> bytes, the Internet checksum (RFC 1071), and building or
// parsing the IP header for shells that send or receive header-included.
// Nothing here throws on bad input: parsers return null.

export type Family = 4 | 6;

/** IP protocol number shared by CARP and VRRP. */
export const IPPROTO_CARP_VRRP = 112;

/** Parse dotted-quad IPv4 or RFC 4291 IPv6 text (a %zone suffix is ignored). */
export function parseIp(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export function familyOf(text: string): Family | null {
  const b = parseIp(text);
  return b === null ? null : b.length === 4 ? 4 : 6;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  let s = (zone >= 0 ? text.slice(0, zone) : text).toLowerCase();
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(v4[0] ?? 0, v4[1] ?? 0)}:${hex(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string | undefined) => (h === undefined || h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...head, ...new Array<string>(8 - total).fill('0'), ...tail];
  for (let i = 0; i < 8; i++) {
    const g = all[i] ?? '';
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

/** Bytes to canonical text (RFC 5952 for IPv6). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) return '';
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  // Longest run of two or more zero groups becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Canonical form of an address text, or null if it is not an address. */
export function normalizeIp(text: string): string | null {
  const b = parseIp(text);
  return b === null ? null : formatIp(b);
}

/** Byte-wise (= numeric, network order) comparison; IPv4 sorts before IPv6. */
export function compareIpBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function compareIp(a: string, b: string): number {
  const x = parseIp(a), y = parseIp(b);
  if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
  return compareIpBytes(x, y);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** One's complement sum of 16-bit big-endian words, folded (not inverted). */
export function onesSum(data: Uint8Array, start = 0, end = data.length, acc = 0): number {
  let sum = acc;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (i < end) sum += (data[i] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * The Internet checksum (RFC 1071) over the concatenation of `parts`.
 * Computed over data whose checksum field holds a correct value it yields 0.
 */
export function internetChecksum(...parts: Uint8Array[]): number {
  return ~onesSum(parts.length === 1 && parts[0] ? parts[0] : concatBytes(parts)) & 0xffff;
}

/** IPv4 (RFC 768 style) or IPv6 (RFC 8200 8.1) pseudo-header for upper-layer checksums. */
export function pseudoHeader(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Uint8Array {
  if (src.length === 4) {
    const h = new Uint8Array(12);
    h.set(src, 0); h.set(dst, 4);
    h[9] = protocol; h[10] = (length >> 8) & 0xff; h[11] = length & 0xff;
    return h;
  }
  const h = new Uint8Array(40);
  h.set(src, 0); h.set(dst, 16);
  h[34] = (length >> 8) & 0xff; h[35] = length & 0xff; h[39] = protocol;
  return h;
}

export interface IpHeaderOptions {
  src: string;
  dst: string;
  /** TTL / hop limit; CARP and VRRP require 255. */
  ttl?: number;
  protocol?: number;
  /** IPv4 TOS / IPv6 traffic class; default 0xc0 (CS6, as keepalived sends). */
  tos?: number;
  /** IPv4 identification. */
  id?: number;
}

/** A complete IPv4 datagram (20-byte header, DF set, header checksum filled in). */
export function buildIpv4Packet(payload: Uint8Array, o: IpHeaderOptions): Uint8Array {
  const src = parseIp(o.src), dst = parseIp(o.dst);
  if (src?.length !== 4 || dst?.length !== 4) throw new RangeError('buildIpv4Packet needs IPv4 src and dst');
  const total = 20 + payload.length;
  const p = new Uint8Array(total);
  p[0] = 0x45;
  p[1] = o.tos ?? 0xc0;
  p[2] = total >> 8; p[3] = total & 0xff;
  p[4] = ((o.id ?? 0) >> 8) & 0xff; p[5] = (o.id ?? 0) & 0xff;
  p[6] = 0x40; // DF, as carp(4) sends
  p[8] = o.ttl ?? 255;
  p[9] = o.protocol ?? IPPROTO_CARP_VRRP;
  p.set(src, 12); p.set(dst, 16);
  const sum = internetChecksum(p.subarray(0, 20));
  p[10] = sum >> 8; p[11] = sum & 0xff;
  p.set(payload, 20);
  return p;
}

/** A complete IPv6 packet (40-byte fixed header, no extension headers). */
export function buildIpv6Packet(payload: Uint8Array, o: IpHeaderOptions): Uint8Array {
  const src = parseIp(o.src), dst = parseIp(o.dst);
  if (src?.length !== 16 || dst?.length !== 16) throw new RangeError('buildIpv6Packet needs IPv6 src and dst');
  const p = new Uint8Array(40 + payload.length);
  const tc = o.tos ?? 0xc0;
  p[0] = 0x60 | (tc >> 4); p[1] = (tc & 0x0f) << 4;
  p[4] = payload.length >> 8; p[5] = payload.length & 0xff;
  p[6] = o.protocol ?? IPPROTO_CARP_VRRP;
  p[7] = o.ttl ?? 255;
  p.set(src, 8); p.set(dst, 24);
  p.set(payload, 40);
  return p;
}

export interface ParsedIp {
  family: Family;
  src: string;
  dst: string;
  ttl: number;
  protocol: number;
  payload: Uint8Array;
}

/**
 * Split a received IPv4 datagram (as a Linux raw IPv4 socket delivers it) or an
 * IPv6 packet with no extension headers into header fields and payload.
 * Returns null for anything malformed (count it as badLength).
 */
export function parseIpPacket(p: Uint8Array): ParsedIp | null {
  if (p.length < 1) return null;
  const v = (p[0] ?? 0) >> 4;
  if (v === 4) {
    const ihl = ((p[0] ?? 0) & 0x0f) * 4;
    if (ihl < 20 || p.length < ihl) return null;
    const total = ((p[2] ?? 0) << 8) | (p[3] ?? 0);
    // Linux hands raw sockets ip_len as sent; tolerate trailing link padding.
    const end = total >= ihl && total <= p.length ? total : p.length;
    return {
      family: 4, ttl: p[8] ?? 0, protocol: p[9] ?? 0,
      src: formatIp(p.subarray(12, 16)), dst: formatIp(p.subarray(16, 20)),
      payload: p.subarray(ihl, end),
    };
  }
  if (v === 6) {
    if (p.length < 40) return null;
    const plen = ((p[4] ?? 0) << 8) | (p[5] ?? 0);
    if (40 + plen > p.length) return null;
    return {
      family: 6, ttl: p[7] ?? 0, protocol: p[6] ?? 0,
      src: formatIp(p.subarray(8, 24)), dst: formatIp(p.subarray(24, 40)),
      payload: p.subarray(40, 40 + plen),
    };
  }
  return null;
}

/** The VHID/VRID of a CARP, VRRPv2 or VRRPv3 payload: byte 1 in all three. */
export function peekVhid(payload: Uint8Array): number | null {
  return payload.length >= 2 ? (payload[1] ?? null) : null;
}

/**
 * Virtual MAC of a VHID/VRID: 00:00:5e:00:01:<id> for CARP and VRRP over
 * IPv4, 00:00:5e:00:02:<id> for VRRP over IPv6 (RFC 5798 7.3).
 */
export function virtualMac(vhid: number, opts: { protocol: 'carp' | 'vrrp3'; family: Family }): string {
  const kind = opts.protocol === 'vrrp3' && opts.family === 6 ? 2 : 1;
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `00:00:5e:00:${h(kind)}:${h(vhid & 0xff)}`;
}
