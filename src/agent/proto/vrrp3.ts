// VRRP version 3 advertisement codec (RFC 5798), interoperable with
// keepalived. Pure functions over bytes; nothing here does I/O.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-------+-------+---------------+---------------+---------------+
//   |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//   +-------+-------+---------------+---------------+---------------+
//   |(rsvd) |     Max Adver Int     |          Checksum             |
//   +-------+-------+---------------+-------------------------------+
//   |                 IPvX Address(es) (4 or 16 bytes each)         |
//   +---------------------------------------------------------------+
//
// Checksum facts (checked here and in the sources named):
// - RFC 5798 5.2.8: the Internet checksum over the VRRP message plus the
//   IPv4/IPv6 pseudo-header (src, dst, protocol 112, VRRP length).
// - keepalived 2.2.7 (Debian bookworm) includes the pseudo-header for IPv4
//   too: verified on packets it sent here, multicast and unicast (with the
//   real unicast destination in the pseudo-header). Golden vectors in
//   test/unit/proto-vrrp3.test.ts.
// - Before 1.3.6 keepalived put 224.0.0.18 in the pseudo-header even when
//   sending unicast; newer versions keep that behaviour behind
//   `old_unicast_checksum` (keepalived#642, PR #929). Mode 'mcast' below.
// - Cisco (and, per keepalived#2324 and FRR#14024, the RFC 5798 successor
//   RFC 9568) compute the IPv4 checksum without the pseudo-header, i.e. as
//   VRRPv2 does; keepalived has `v3_checksum_as_v2` (PR #2234) and FRR
//   `checksum-with-ipv4-pseudoheader` for that. Mode 'none' below.
// By default the decoder accepts all three for IPv4 and reports which one
// matched; the encoder uses 'pseudo' (keepalived's default).

import { type Family, IPPROTO_CARP_VRRP, formatIp, internetChecksum, normalizeIp, parseIp, pseudoHeader } from './inet.js';

export const VRRP_VERSION = 3;
export const VRRP_ADVERTISEMENT = 1;
export const VRRP_TTL = 255;
export const VRRP_HEADER_LEN = 8;
export const VRRP_MCAST_V4 = '224.0.0.18';
export const VRRP_MCAST_V6 = 'ff02::12';
/** Priority 0: "the current Master has stopped participating" (RFC 5798 5.2.4). */
export const VRRP_PRIORITY_RESIGN = 0;
export const VRRP_PRIORITY_OWNER = 255;
/** Max Adver Int is 12 bits of centiseconds. */
export const VRRP_MAX_ADVER_INT = 0x0fff;

/**
 * How the checksum treats the IP pseudo-header:
 * 'pseudo' RFC 5798 with the packet's real destination; 'mcast' with the
 * multicast group as destination whatever the real one (old keepalived
 * unicast); 'none' without a pseudo-header (Cisco, v3_checksum_as_v2).
 */
export type Vrrp3ChecksumMode = 'pseudo' | 'mcast' | 'none';

export interface Vrrp3Advert {
  version: number;
  type: number;
  vrid: number;
  priority: number;
  count: number;
  /** Max Adver Int in centiseconds. */
  maxAdverInt: number;
  checksum: number;
  family: Family;
  addresses: string[];
  /** Which checksum variant matched. */
  checksumMode: Vrrp3ChecksumMode;
}

export type Vrrp3DropReason =
  | 'badLength' | 'badTtl' | 'badVersion' | 'badType' | 'badVrid' | 'badChecksum'
  | 'badAddrCount' | 'badInterval' | 'badAddrList' | 'badAddress';

export type Vrrp3DecodeResult =
  | { ok: true; advert: Vrrp3Advert }
  | { ok: false; reason: Vrrp3DropReason; vhid?: number };

export function vrrp3Group(family: Family): string {
  return family === 4 ? VRRP_MCAST_V4 : VRRP_MCAST_V6;
}

function checksumOver(p: Uint8Array, mode: Vrrp3ChecksumMode, src: Uint8Array, dst: Uint8Array): number {
  if (mode === 'none') return internetChecksum(p);
  const d = mode === 'mcast' ? (parseIp(vrrp3Group(src.length === 4 ? 4 : 6)) as Uint8Array) : dst;
  return internetChecksum(pseudoHeader(src, d, IPPROTO_CARP_VRRP, p.length), p);
}

export interface Vrrp3EncodeInput {
  vrid: number;
  priority: number;
  /** Centiseconds, 1..4095. */
  maxAdverInt: number;
  /** VIPs, all of the family of src. */
  addresses: readonly string[];
  /** Source and destination the IP layer will use: they enter the checksum. */
  src: string;
  dst: string;
  checksumMode?: Vrrp3ChecksumMode;
}

/** Encode an advertisement. Throws RangeError on addresses of the wrong family. */
export function encodeVrrp3(a: Vrrp3EncodeInput): Uint8Array {
  const src = parseIp(a.src), dst = parseIp(a.dst);
  if (src === null || dst === null || src.length !== dst.length) {
    throw new RangeError(`encodeVrrp3: bad src/dst ${a.src} -> ${a.dst}`);
  }
  const alen = src.length;
  const addrs = a.addresses.map((t) => {
    const b = parseIp(t);
    if (b === null || b.length !== alen) throw new RangeError(`encodeVrrp3: ${t} is not IPv${alen === 4 ? 4 : 6}`);
    return b;
  });
  if (addrs.length < 1 || addrs.length > 255) throw new RangeError('encodeVrrp3: 1..255 addresses');
  const p = new Uint8Array(VRRP_HEADER_LEN + alen * addrs.length);
  p[0] = (VRRP_VERSION << 4) | VRRP_ADVERTISEMENT;
  p[1] = a.vrid & 0xff;
  p[2] = a.priority & 0xff;
  p[3] = addrs.length;
  const mai = Math.min(Math.max(Math.round(a.maxAdverInt), 1), VRRP_MAX_ADVER_INT);
  p[4] = mai >> 8; // the 4 reserved bits stay zero
  p[5] = mai & 0xff;
  addrs.forEach((b, i) => p.set(b, VRRP_HEADER_LEN + i * alen));
  const sum = checksumOver(p, a.checksumMode ?? 'pseudo', src, dst);
  p[6] = sum >> 8; p[7] = sum & 0xff;
  return p;
}

export interface Vrrp3DecodeContext {
  /** IP source and destination of the packet (for the pseudo-header). */
  src: string;
  dst: string;
  /** TTL / hop limit as received; must be 255. Omit to skip. */
  ttl?: number;
  /** Our VRID; others are dropped as badVrid. */
  vrid?: number;
  /** Checksum variants to accept, tried in order. Default: all three (IPv6: pseudo, mcast). */
  checksumModes?: readonly Vrrp3ChecksumMode[];
  /** When given, the advertised address set must equal it (keepalived's default check). */
  expectedAddresses?: readonly string[];
}

/** Validate a VRRPv3 payload in RFC 5798 7.1 order. Never throws. */
export function decodeVrrp3(p: Uint8Array, ctx: Vrrp3DecodeContext): Vrrp3DecodeResult {
  const vrid = p.length >= 2 ? p[1] : undefined;
  const drop = (reason: Vrrp3DropReason): Vrrp3DecodeResult =>
    vrid === undefined ? { ok: false, reason } : { ok: false, reason, vhid: vrid };
  const src = parseIp(ctx.src), dst = parseIp(ctx.dst);
  if (src === null || dst === null || src.length !== dst.length) return drop('badAddress');
  const family: Family = src.length === 4 ? 4 : 6;
  if (ctx.ttl !== undefined && ctx.ttl !== VRRP_TTL) return drop('badTtl');
  if (p.length < 1) return drop('badLength');
  if ((p[0] ?? 0) >> 4 !== VRRP_VERSION) return drop('badVersion');
  if (p.length < VRRP_HEADER_LEN) return drop('badLength');
  if (((p[0] ?? 0) & 0x0f) !== VRRP_ADVERTISEMENT) return drop('badType');
  if (ctx.vrid !== undefined && vrid !== ctx.vrid) return drop('badVrid');
  const modes = ctx.checksumModes ?? (family === 4 ? ['pseudo', 'none', 'mcast'] : ['pseudo', 'mcast']);
  const mode = modes.find((m) => checksumOver(p, m, src, dst) === 0);
  if (mode === undefined) return drop('badChecksum');
  const count = p[3] ?? 0;
  const alen = family === 4 ? 4 : 16;
  if (count === 0 || p.length !== VRRP_HEADER_LEN + count * alen) return drop('badAddrCount');
  const maxAdverInt = (((p[4] ?? 0) & 0x0f) << 8) | (p[5] ?? 0);
  if (maxAdverInt === 0) return drop('badInterval');
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const o = VRRP_HEADER_LEN + i * alen;
    addresses.push(formatIp(p.subarray(o, o + alen)));
  }
  if (ctx.expectedAddresses !== undefined && !sameAddressSet(addresses, ctx.expectedAddresses)) {
    return drop('badAddrList');
  }
  return {
    ok: true,
    advert: {
      version: VRRP_VERSION, type: VRRP_ADVERTISEMENT, vrid: vrid ?? 0,
      priority: p[2] ?? 0, count, maxAdverInt,
      checksum: ((p[6] ?? 0) << 8) | (p[7] ?? 0),
      family, addresses, checksumMode: mode,
    },
  };
}

function sameAddressSet(got: readonly string[], want: readonly string[]): boolean {
  const norm = (xs: readonly string[]) => new Set(xs.map((x) => normalizeIp(x) ?? x));
  const a = norm(got), b = norm(want);
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256, in ms. */
export function vrrp3SkewMs(priority: number, masterAdverIntCs: number): number {
  return ((256 - priority) * masterAdverIntCs * 10) / 256;
}

/** RFC 5798 6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time, in ms. */
export function vrrp3MasterDownMs(priority: number, masterAdverIntCs: number): number {
  return 3 * masterAdverIntCs * 10 + vrrp3SkewMs(priority, masterAdverIntCs);
}
