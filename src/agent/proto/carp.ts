// CARP version 2 advertisement codec, wire-compatible with OpenBSD/FreeBSD
// carp(4) and ucarp. Pure functions over bytes; nothing here does I/O.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-------+-------+---------------+---------------+---------------+
//   |Version| Type  | VirtualHostID |    AdvSkew    |    Auth Len   |
//   +-------+-------+---------------+---------------+---------------+
//   |    Demote     |    AdvBase    |          Checksum             |
//   +---------------+---------------+-------------------------------+
//   |                       Counter (64 bits)                       |
//   +---------------------------------------------------------------+
//   |                  SHA-1 HMAC (160 bits, "md")                  |
//   +---------------------------------------------------------------+
//
// Facts this file relies on (checked in the sources named):
// - Checksum: the Internet checksum over the 36-byte CARP header only, no
//   pseudo-header (ip_carp.c carp_send_ad: in_cksum(m, len - sizeof(*ip))).
// - Byte 4: OpenBSD sends its node demote counter there (carp_demote =
//   carp_group_demote_count() & 0xff) and compares it before the timers;
//   FreeBSD and ucarp send 0 ("carp_pad1, must be zero") and ignore it, and
//   FreeBSD demotes by adding net.inet.carp.demotion to the advskew instead
//   (DEMOTE_ADVSKEW, clamped to CARP_MAXSKEW = 240).
// - HMAC: HMAC-SHA1 (carp_hmac_prepare/carp_hmac_generate) keyed by the
//   20-byte sc_key, zero padded to the 64-byte block, over
//     version(1) type(1) vhid(1) IPv4 VIPs (4 each, ascending, no duplicates)
//     IPv6 VIPs (16 each, ascending memcmp order, scope bytes 2-3 zeroed)
//     counter(8, exactly as on the wire).
//   The key is the password copied with strlcpy(key, pass, CARP_KEY_LEN) by
//   ifconfig, so at most 19 bytes; ucarp refuses passwords of 20+ bytes.
//   Zero padding makes it equal to standard HMAC with the truncated password.
// - ucarp hashes exactly one address, its -a vaddr (src/carp.c
//   carp_hmac_prepare), and speaks IPv4 only: the same bytes as carp(4) for a
//   group holding a single IPv4 VIP, which is the only group ucarp can join.
//   Verified against a packet captured from ucarp 1.5.2 (test/unit/proto-carp).
// - OpenBSD sends with link-local IPv6 addresses left out of the HMAC
//   (HMAC_NOV6LL) and accepts either variant; pass only the VIPs here.
// - Counter: FreeBSD and ucarp start from a random 64-bit value and add one
//   per advertisement; OpenBSD keeps one random cookie. Receivers only use it
//   as HMAC input (FreeBSD: "XXX Replay protection goes here").

import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type Family, compareIpBytes, internetChecksum, parseIp,
} from './inet.js';

export const CARP_VERSION = 2;
export const CARP_ADVERTISEMENT = 1;
export const CARP_AUTHLEN = 7; // counter + md, in 32-bit words
export const CARP_HEADER_LEN = 36;
export const CARP_TTL = 255;
export const CARP_KEY_LEN = 20;
export const CARP_MAXSKEW = 240;
export const CARP_MCAST_V4 = '224.0.0.18';
export const CARP_MCAST_V6 = 'ff02::12';
/** advbase = advskew = 255: OpenBSD's "bow out" advertisement (carp_send_ad). */
export const CARP_BOW_OUT = 255;

export interface CarpAdvert {
  version: number;
  type: number;
  vhid: number;
  advskew: number;
  authlen: number;
  /** OpenBSD's demote counter; 0 from FreeBSD and ucarp. */
  demote: number;
  advbase: number;
  checksum: number;
  /** The 64-bit counter, big-endian as on the wire. */
  counter: bigint;
  md: Uint8Array;
}

export type CarpDropReason =
  | 'badLength' | 'badTtl' | 'badVersion' | 'badChecksum' | 'badType'
  | 'badVhid' | 'badAuthLen' | 'badHmac';

export type CarpDecodeResult =
  | { ok: true; advert: CarpAdvert }
  /** vhid is byte 1 when the packet had one, for conflict reporting. */
  | { ok: false; reason: CarpDropReason; vhid?: number };

/** Password and VIP group that key the HMAC. */
export interface CarpKey {
  password: string;
  /** The VIPs of the group, IPv4 and/or IPv6 text, any order. */
  addresses: readonly string[];
}

/** The 20-byte sc_key: the password's UTF-8 bytes as strlcpy leaves them (max 19). */
export function carpKeyBytes(password: string): Uint8Array {
  const key = new Uint8Array(CARP_KEY_LEN);
  const pw = Buffer.from(password, 'utf8');
  key.set(pw.subarray(0, CARP_KEY_LEN - 1));
  return key;
}

/** The address bytes the HMAC covers, in carp(4) order. */
export function carpHmacAddresses(addresses: readonly string[]): Uint8Array[] {
  const v4: Uint8Array[] = [], v6: Uint8Array[] = [];
  for (const a of addresses) {
    const b = parseIp(a);
    if (b === null) continue;
    if (b.length === 16) {
      // KAME embeds the scope in bytes 2-3 of link-local addresses; carp(4)
      // zeroes them before hashing (IN6_IS_SCOPE_EMBED). Text never has it.
      if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) { b[2] = 0; b[3] = 0; }
      v6.push(b);
    } else v4.push(b);
  }
  const sortUnique = (xs: Uint8Array[]) =>
    xs.sort(compareIpBytes).filter((x, i, all) => i === 0 || compareIpBytes(x, all[i - 1] as Uint8Array) !== 0);
  return [...sortUnique(v4), ...sortUnique(v6)];
}

/** HMAC-SHA1 over version, type, vhid, the sorted VIPs and the counter. */
export function carpHmac(key: CarpKey, vhid: number, counter: Uint8Array | bigint): Uint8Array {
  const h = createHmac('sha1', carpKeyBytes(key.password));
  h.update(Uint8Array.of(CARP_VERSION, CARP_ADVERTISEMENT, vhid & 0xff));
  for (const a of carpHmacAddresses(key.addresses)) h.update(a);
  h.update(typeof counter === 'bigint' ? counterBytes(counter) : counter);
  return new Uint8Array(h.digest());
}

export function counterBytes(counter: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, counter));
  return b;
}

export interface CarpEncodeInput extends CarpKey {
  vhid: number;
  advbase: number;
  advskew: number;
  /** OpenBSD demote byte; 0 as FreeBSD and ucarp send. */
  demote?: number;
  counter: bigint;
}

/** The 36-byte CARP advertisement, checksum and HMAC filled in. */
export function encodeCarp(a: CarpEncodeInput): Uint8Array {
  const p = new Uint8Array(CARP_HEADER_LEN);
  const v = new DataView(p.buffer);
  p[0] = (CARP_VERSION << 4) | CARP_ADVERTISEMENT;
  p[1] = a.vhid & 0xff;
  p[2] = a.advskew & 0xff;
  p[3] = CARP_AUTHLEN;
  p[4] = (a.demote ?? 0) & 0xff;
  p[5] = a.advbase & 0xff;
  const counter = counterBytes(a.counter);
  p.set(counter, 8);
  p.set(carpHmac(a, a.vhid, counter), 16);
  v.setUint16(6, internetChecksum(p));
  return p;
}

export interface CarpDecodeContext {
  /** IP TTL / hop limit as received; must be 255. Omit to skip (unicast, as FreeBSD). */
  ttl?: number;
  /** Our VHID; others are dropped as badVhid. */
  vhid?: number;
  /** Password and VIPs: when given the HMAC is checked. */
  key?: CarpKey;
}

/**
 * Validate a CARP payload (the bytes after the IP header) in carp(4)'s order,
 * except that the version is checked before the length so that VRRP packets
 * on protocol 112 read as "another protocol" rather than "too short".
 * Never throws.
 */
export function decodeCarp(p: Uint8Array, ctx: CarpDecodeContext = {}): CarpDecodeResult {
  const vhid = p.length >= 2 ? p[1] : undefined;
  const drop = (reason: CarpDropReason): CarpDecodeResult =>
    vhid === undefined ? { ok: false, reason } : { ok: false, reason, vhid };
  if (ctx.ttl !== undefined && ctx.ttl !== CARP_TTL) return drop('badTtl');
  if (p.length < 1) return drop('badLength');
  if ((p[0] ?? 0) >> 4 !== CARP_VERSION) return drop('badVersion');
  if (p.length < CARP_HEADER_LEN) return drop('badLength');
  if (internetChecksum(p.subarray(0, CARP_HEADER_LEN)) !== 0) return drop('badChecksum');
  if (((p[0] ?? 0) & 0x0f) !== CARP_ADVERTISEMENT) return drop('badType');
  if (ctx.vhid !== undefined && vhid !== ctx.vhid) return drop('badVhid');
  if (p[3] !== CARP_AUTHLEN) return drop('badAuthLen');
  const counter = p.subarray(8, 16);
  const md = p.slice(16, 36);
  if (ctx.key !== undefined && !timingSafeEqual(md, carpHmac(ctx.key, vhid ?? 0, counter))) {
    return drop('badHmac');
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return {
    ok: true,
    advert: {
      version: CARP_VERSION, type: CARP_ADVERTISEMENT, vhid: vhid ?? 0,
      advskew: p[2] ?? 0, authlen: p[3] ?? 0, demote: p[4] ?? 0, advbase: p[5] ?? 0,
      checksum: v.getUint16(6), counter: v.getBigUint64(8), md,
    },
  };
}

/** Multicast group for a family: 224.0.0.18 or ff02::12. */
export function carpGroup(family: Family): string {
  return family === 4 ? CARP_MCAST_V4 : CARP_MCAST_V6;
}

/** Advertisement interval in milliseconds: advbase + advskew/256 seconds. */
export function carpIntervalMs(advbase: number, advskew: number): number {
  // OpenBSD: advbase 0 with advskew 0 still waits 1/256 s.
  return Math.max(advbase * 256 + advskew, 1) * 1000 / 256;
}
