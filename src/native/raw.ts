/**
 * Typed wrapper around the raw-socket addon (src/native/raw.c).
 *
 *   const sock = RawSocket.open({ family: 4, protocol: 112, interface: 'LAN', groups: ['224.0.0.18'] });
 *   sock.on('packet', (p) => ...);          // or: for await (const p of sock) ...
 *   sock.send(advert, '224.0.0.18');
 *   sock.close();
 *
 *   sendGratuitousArp({ interface: 'vip49', address: '192.168.1.1' });
 *   sendUnsolicitedNA({ interface: 'vip49', address: '2001:db8:1::1', router: true });
 *
 * Loading: the .node file is opened with process.dlopen from an explicit path,
 * else $CARPD_ADDON, else out/native/raw.node of this repository (what
 * buildAddon() writes). The packaged carpd extracts the addon to a tmpfs and
 * passes that path (or sets CARPD_ADDON).
 *
 * Checksums: the addon never asks the kernel to checksum CARP/VRRP (no
 * IPV6_CHECKSUM by default). The codecs compute and verify their own
 * checksums for both families: CARP's covers only the CARP header (no
 * pseudo-header, in IPv4 and IPv6 alike), so the kernel option would be wrong
 * for it; VRRPv3's includes the pseudo-header, and with IPV6_CHECKSUM set the
 * kernel silently drops bad ones on receive, so carpd could not count them.
 * To compute a pseudo-header checksum the sender must know its source
 * address: bind the socket (`bindAddress`) to the interface's address
 * (link-local for VRRPv3 over IPv6). setChecksumOffset() exists for callers
 * who want the kernel behaviour anyway.
 *
 * TTL: sends use TTL / hop limit 255 (multicast and unicast) unless told
 * otherwise. Received IPv4 packets carry their IP header, `ttl` is read from
 * it; IPv6 gets the hop limit from IPV6_HOPLIMIT ancillary data. Receivers
 * must drop anything with ttl !== 255 (carp(4), RFC 5798).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultOutDir } from './build.js';

export type Family = 4 | 6;

/** What raw.node exports (one function per system call). */
export interface RawAddon {
  readonly abiVersion: number;
  socket(family: Family, protocol: number): number;
  close(fd: number): void;
  bindToDevice(fd: number, ifname: string): void;
  bind(fd: number, family: Family, address: string, scopeId?: number): void;
  ifIndex(ifname: string): number;
  membership(fd: number, family: Family, group: string, ifindex: number, join: boolean): void;
  setMulticastIf(fd: number, family: Family, ifindex: number): void;
  setTtl(fd: number, family: Family, ttl: number): void;
  setMulticastLoop(fd: number, family: Family, on: boolean): void;
  setChecksumOffset(fd: number, offset: number): void;
  recv(fd: number, family: Family): AddonDatagram | null;
  /** `source` fixes this datagram's IP source (IP_PKTINFO / IPV6_PKTINFO); it must be a local address. */
  sendTo(fd: number, family: Family, buffer: Uint8Array, address: string, scopeId?: number, source?: string): number;
  sendFrame(ifindex: number, frame: Uint8Array): number;
  watch(fd: number, callback: (err: Error | null) => void): WatchHandle;
  unwatch(handle: WatchHandle): void;
  setRef(handle: WatchHandle, on: boolean): void;
}

/** Opaque handle returned by watch(). */
export interface WatchHandle {
  readonly __watchHandle: unique symbol;
}

export interface AddonDatagram {
  data: Buffer;
  address: string;
  scopeId: number;
  destination: string | null;
  ifindex: number;
  ttl: number;
  truncated: boolean;
}

/** Errors thrown by the addon for failed system calls. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

const loaded = new Map<string, RawAddon>();

/** Path the addon is loaded from when none is given. */
export function defaultAddonPath(): string {
  return process.env.CARPD_ADDON || join(defaultOutDir(), 'raw.node');
}

/** dlopen the addon (cached per path). */
export function loadAddon(path: string = defaultAddonPath()): RawAddon {
  const abs = resolve(path);
  const hit = loaded.get(abs);
  if (hit) return hit;
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  try {
    process.dlopen(mod, abs, constants.dlopen.RTLD_NOW);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `cannot load the raw-socket addon from ${abs}: ${msg} ` +
        `(build it with \`node dist/src/native/build.js\` or point CARPD_ADDON at raw.node)`,
    );
  }
  const addon = mod.exports as unknown as RawAddon;
  if (typeof addon.socket !== 'function' || addon.abiVersion !== 1) {
    throw new Error(`${abs} is not carpenter's raw-socket addon (abiVersion ${String(addon.abiVersion)})`);
  }
  loaded.set(abs, addon);
  return addon;
}

function resolveAddon(a: RawAddon | string | undefined): RawAddon {
  return typeof a === 'object' ? a : loadAddon(a);
}

/** One received datagram, normalised across families. */
export interface RawPacket {
  family: Family;
  protocol: number;
  /** The IP payload (CARP/VRRP message); IPv4 header stripped. */
  payload: Buffer;
  source: string;
  destination: string;
  /** IPv4 TTL from the header / IPv6 hop limit from ancillary data. */
  ttl: number;
  /** Interface the packet arrived on. */
  ifindex: number;
  /** IPv6 scope id of the source (link-local sources), else 0. */
  scopeId: number;
  /** IPv4 only: the IP header as received. */
  ipHeader?: Buffer;
  /** The datagram was longer than the receive buffer (64 KiB). */
  truncated: boolean;
}

export interface RawSocketOptions {
  family: Family;
  /** IP protocol number: 112 for CARP and VRRP. */
  protocol: number;
  /** SO_BINDTODEVICE + IP(V6)_MULTICAST_IF + group membership on this interface. */
  interface?: string;
  /** Multicast groups to join (on `interface`, or the kernel's choice without one). */
  groups?: string[];
  /** TTL / hop limit for multicast and unicast sends (default 255). */
  ttl?: number;
  /** Receive our own multicast sends (default false). */
  multicastLoop?: boolean;
  /** bind() to this source address (needed to compute pseudo-header checksums). */
  bindAddress?: string;
  /** IPV6_CHECKSUM offset: the kernel computes/verifies the checksum. Off by default. */
  checksumOffset?: number;
  /** Start receiving right away (default true); else call resume(). */
  receive?: boolean;
  /** Addon object or path (default loadAddon()). */
  addon?: RawAddon | string;
}

export interface RawSocketStats {
  received: number;
  sent: number;
  malformed: number;
  /** Packets discarded because the async iterator's queue was full. */
  overflow: number;
}

type PacketListener = (packet: RawPacket) => void;
type ErrorListener = (err: Error) => void;

export declare interface RawSocket {
  on(event: 'packet', listener: PacketListener): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'packet', listener: PacketListener): this;
  once(event: 'error', listener: ErrorListener): this;
  once(event: 'close', listener: () => void): this;
  off(event: 'packet', listener: PacketListener): this;
  off(event: 'error', listener: ErrorListener): this;
  off(event: 'close', listener: () => void): this;
  emit(event: 'packet', packet: RawPacket): boolean;
  emit(event: 'error', err: Error): boolean;
  emit(event: 'close'): boolean;
}

const MAX_DRAIN = 256;

/**
 * A raw IP socket for one protocol. Receiving is event-driven through a libuv
 * poll handle on Node's loop; it never blocks. Emits 'packet', 'error',
 * 'close'. Also an async iterable of packets.
 */
export class RawSocket extends EventEmitter {
  readonly family: Family;
  readonly protocol: number;
  readonly ifname: string | undefined;
  readonly ifindex: number;
  readonly stats: RawSocketStats = { received: 0, sent: 0, malformed: 0, overflow: 0 };
  private readonly addon: RawAddon;
  private fdValue: number;
  private handle: WatchHandle | undefined;
  private refed = true;
  private readonly groups = new Set<string>();

  private constructor(addon: RawAddon, fd: number, family: Family, protocol: number, ifname: string | undefined, ifindex: number) {
    super();
    this.addon = addon;
    this.fdValue = fd;
    this.family = family;
    this.protocol = protocol;
    this.ifname = ifname;
    this.ifindex = ifindex;
  }

  static open(opts: RawSocketOptions): RawSocket {
    if (opts.family !== 4 && opts.family !== 6) throw new TypeError('family must be 4 or 6');
    if (!Number.isInteger(opts.protocol) || opts.protocol < 1 || opts.protocol > 255) {
      throw new TypeError('protocol must be an integer 1..255');
    }
    const addon = resolveAddon(opts.addon);
    const ifindex = opts.interface !== undefined ? addon.ifIndex(opts.interface) : 0;
    const fd = addon.socket(opts.family, opts.protocol);
    const sock = new RawSocket(addon, fd, opts.family, opts.protocol, opts.interface, ifindex);
    try {
      if (opts.interface !== undefined) {
        addon.bindToDevice(fd, opts.interface);
        addon.setMulticastIf(fd, opts.family, ifindex);
      }
      addon.setTtl(fd, opts.family, opts.ttl ?? 255);
      addon.setMulticastLoop(fd, opts.family, opts.multicastLoop ?? false);
      if (opts.checksumOffset !== undefined) addon.setChecksumOffset(fd, opts.checksumOffset);
      if (opts.bindAddress !== undefined) {
        addon.bind(fd, opts.family, opts.bindAddress, opts.family === 6 ? ifindex : undefined);
      }
      for (const g of opts.groups ?? []) sock.join(g);
      if (opts.receive ?? true) sock.resume();
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  /** The file descriptor (-1 once closed). */
  get fd(): number {
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue < 0;
  }

  private checkOpen(): number {
    if (this.fdValue < 0) {
      const err = new Error('socket is closed') as ErrnoError;
      err.code = 'EBADF';
      throw err;
    }
    return this.fdValue;
  }

  join(group: string): void {
    const fd = this.checkOpen();
    checkAddress(this.family, group, 'group');
    this.addon.membership(fd, this.family, group, this.ifindex, true);
    this.groups.add(group);
  }

  leave(group: string): void {
    const fd = this.checkOpen();
    checkAddress(this.family, group, 'group');
    this.addon.membership(fd, this.family, group, this.ifindex, false);
    this.groups.delete(group);
  }

  /**
   * Send one IP payload; the kernel adds the IP header (TTL from open()).
   * `source` picks the IP source address of this datagram (a local address),
   * without bind(): needed for VRRPv3, whose checksum covers it.
   */
  send(payload: Uint8Array, destination: string, scopeId?: number, source?: string): number {
    const fd = this.checkOpen();
    checkAddress(this.family, destination, 'destination');
    if (source !== undefined) checkAddress(this.family, source, 'source');
    const scope = this.family === 6 ? (scopeId ?? (needsScope(destination) ? this.ifindex : undefined)) : undefined;
    const n = this.addon.sendTo(fd, this.family, payload, destination, scope, source);
    this.stats.sent++;
    return n;
  }

  /** Start delivering 'packet' events (open() does this unless receive: false). */
  resume(): void {
    const fd = this.checkOpen();
    if (this.handle) return;
    this.handle = this.addon.watch(fd, (err) => this.onReadable(err));
    if (!this.refed) this.addon.setRef(this.handle, false);
  }

  /** Stop watching the socket; the kernel keeps queueing up to its buffer. */
  pause(): void {
    if (this.handle) {
      this.addon.unwatch(this.handle);
      this.handle = undefined;
    }
  }

  /** Let the process exit while this socket is open (like net.Socket#unref). */
  unref(): this {
    this.refed = false;
    if (this.handle) this.addon.setRef(this.handle, false);
    return this;
  }

  ref(): this {
    this.refed = true;
    if (this.handle) this.addon.setRef(this.handle, true);
    return this;
  }

  /** Read one datagram now, without the event loop (null if none is queued). */
  receiveNow(): RawPacket | null {
    const fd = this.checkOpen();
    for (;;) {
      const d = this.addon.recv(fd, this.family);
      if (d === null) return null;
      const p = this.normalise(d);
      if (p) return p;
    }
  }

  close(): void {
    if (this.fdValue < 0) return;
    this.pause();
    const fd = this.fdValue;
    this.fdValue = -1;
    this.groups.clear();
    this.addon.close(fd);
    this.emit('close');
  }

  /** Read every datagram already queued on the socket now, without waiting for the poll (see AdvertSockets.drain). */
  drain(): void {
    if (this.fdValue >= 0 && this.handle) this.onReadable(null);
  }

  private onReadable(err: Error | null): void {
    if (err) {
      this.emit('error', err);
      return;
    }
    for (let i = 0; i < MAX_DRAIN && this.fdValue >= 0 && this.handle; i++) {
      let d: AddonDatagram | null;
      try {
        d = this.addon.recv(this.fdValue, this.family);
      } catch (e) {
        this.emit('error', e as Error);
        return;
      }
      if (d === null) return;
      const p = this.normalise(d);
      if (p) this.emit('packet', p);
    }
  }

  private normalise(d: AddonDatagram): RawPacket | null {
    this.stats.received++;
    if (this.family === 6) {
      return {
        family: 6,
        protocol: this.protocol,
        payload: d.data,
        source: d.address,
        destination: d.destination ?? '',
        ttl: d.ttl,
        ifindex: d.ifindex,
        scopeId: d.scopeId,
        truncated: d.truncated,
      };
    }
    const ip = d.data;
    const ihl = ip.length >= 20 ? (ip[0]! & 0x0f) * 4 : 0;
    if (ihl < 20 || ip.length < ihl || ip[0]! >> 4 !== 4) {
      this.stats.malformed++;
      return null;
    }
    return {
      family: 4,
      protocol: this.protocol,
      payload: ip.subarray(ihl),
      source: d.address,
      destination: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
      ttl: ip[8]!,
      ifindex: d.ifindex,
      scopeId: 0,
      ipHeader: ip.subarray(0, ihl),
      truncated: d.truncated,
    };
  }

  /**
   * Async iteration over packets (ends when the socket closes). At most
   * `maxQueue` packets wait for a slow consumer; the rest are counted in
   * stats.overflow and dropped.
   */
  packets(maxQueue = 1024): AsyncIterableIterator<RawPacket> {
    const queue: RawPacket[] = [];
    const waiters: Array<{ resolve: (r: IteratorResult<RawPacket>) => void; reject: (e: Error) => void }> = [];
    let done = false;
    let failure: Error | undefined;
    const onPacket = (p: RawPacket): void => {
      const w = waiters.shift();
      if (w) w.resolve({ value: p, done: false });
      else if (queue.length < maxQueue) queue.push(p);
      else this.stats.overflow++;
    };
    const finish = (): void => {
      done = true;
      this.off('packet', onPacket);
      this.off('close', finish);
      this.off('error', onError);
      for (const w of waiters.splice(0)) {
        if (failure) w.reject(failure);
        else w.resolve({ value: undefined, done: true });
      }
    };
    const onError = (e: Error): void => {
      failure = e;
      finish();
    };
    this.on('packet', onPacket);
    this.on('close', finish);
    this.on('error', onError);
    if (this.closed) finish();
    const it: AsyncIterableIterator<RawPacket> = {
      next: () => {
        const p = queue.shift();
        if (p) return Promise.resolve({ value: p, done: false });
        if (failure) {
          const f = failure;
          failure = undefined;
          return Promise.reject(f);
        }
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
      },
      return: () => {
        queue.length = 0;
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RawPacket> {
    return this.packets();
  }
}

function needsScope(addr: string): boolean {
  const a = addr.toLowerCase();
  return a.startsWith('fe8') || a.startsWith('fe9') || a.startsWith('fea') || a.startsWith('feb') || /^ff[0-9a-f][12]:/.test(a);
}

function checkAddress(family: Family, addr: string, what: string): void {
  if (typeof addr !== 'string' || !(family === 4 ? isIPv4(addr) : isIPv6(addr))) {
    throw new TypeError(`${what} must be an IPv${family} address, got ${String(addr)}`);
  }
}

/* ------------------------------------------------------------ addresses */

/** "00:00:5e:00:01:31" -> 6 bytes. */
export function parseMac(mac: string): Buffer {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function parseIPv4(addr: string): Buffer {
  if (!isIPv4(addr)) throw new TypeError(`not an IPv4 address: ${addr}`);
  return Buffer.from(addr.split('.').map((x) => Number(x)));
}

export function parseIPv6(addr: string): Buffer {
  if (!isIPv6(addr)) throw new TypeError(`not an IPv6 address: ${addr}`);
  let text = addr.replace(/%.*$/, '');
  const out = Buffer.alloc(16);
  // embedded IPv4 tail
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const b = parseIPv4(v4[1]!);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, -v4[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const words = rest === undefined ? [...hs, ...tail] : [...hs, ...new Array<number>(8 - hs.length - rs.length - tail.length).fill(0), ...rs, ...tail];
  if (words.length !== 8) throw new TypeError(`not an IPv6 address: ${addr}`);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** Internet checksum (RFC 1071) over the concatenation of the chunks. */
export function internetChecksum(...chunks: Uint8Array[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      if (odd === undefined) odd = c[i]!;
      else {
        sum += (odd << 8) | c[i]!;
        odd = undefined;
      }
    }
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/* --------------------------------------------------- takeover announcements */

/**
 * Gratuitous ARP (an ARP request announcing ip -> mac; sender IP == target IP,
 * target MAC zero as in RFC 5227 announcements), broadcast from `mac`.
 * Padded to the 60-byte Ethernet minimum. With op 'reply' the target MAC is
 * set to `mac` too (Linux only treats a reply as gratuitous when sha == tha).
 */
export function buildGratuitousArp(mac: string, ip: string, op: 'request' | 'reply' = 'request'): Buffer {
  const m = parseMac(mac);
  const a = parseIPv4(ip);
  const f = Buffer.alloc(60);
  f.fill(0xff, 0, 6); // broadcast
  m.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(op === 'request' ? 1 : 2, 20);
  m.copy(f, 22); // sender MAC
  a.copy(f, 28); // sender IP
  if (op === 'reply') m.copy(f, 32); // target MAC
  a.copy(f, 38); // target IP
  return f;
}

/**
 * Unsolicited neighbour advertisement for `ip` -> `mac` (RFC 4861 7.2.6): to
 * ff02::1 (33:33:00:00:00:01), hop limit 255, Override set, Solicited clear,
 * Router if `router`, with a target link-layer address option. The IPv6
 * source is `source` or the target address itself (as keepalived does),
 * which needs no address state on the interface (no tentative link-local).
 */
export function buildUnsolicitedNA(mac: string, ip: string, opts: { router?: boolean; source?: string } = {}): Buffer {
  const m = parseMac(mac);
  const target = parseIPv6(ip);
  const src = parseIPv6(opts.source ?? ip);
  const dst = parseIPv6('ff02::1');
  const icmp = Buffer.alloc(32);
  icmp[0] = 136; // NA
  icmp[1] = 0;
  icmp[4] = (opts.router ? 0x80 : 0) | 0x20; // R, O
  target.copy(icmp, 8);
  icmp[24] = 2; // target link-layer address
  icmp[25] = 1; // 8 octets
  m.copy(icmp, 26);
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = 58;
  icmp.writeUInt16BE(internetChecksum(pseudo, icmp), 2);
  const f = Buffer.alloc(14 + 40 + icmp.length);
  Buffer.from([0x33, 0x33, 0, 0, 0, 1]).copy(f, 0);
  m.copy(f, 6);
  f.writeUInt16BE(0x86dd, 12);
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(icmp.length, 18);
  f[20] = 58;
  f[21] = 255;
  src.copy(f, 22);
  dst.copy(f, 38);
  icmp.copy(f, 54);
  return f;
}

/** The MAC address of an interface (from sysfs of the current network namespace). */
export function interfaceMac(ifname: string): string {
  if (!/^[^/\s]{1,15}$/.test(ifname)) throw new TypeError(`bad interface name: ${ifname}`);
  return readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
}

export interface AnnounceOptions {
  /** Interface to send from (the VIP's macvlan, usually). */
  interface: string;
  /** Address being announced. */
  address: string;
  /** Link-layer address to announce and send from; default the interface's MAC. */
  mac?: string;
  addon?: RawAddon | string;
}

/** Send a gratuitous ARP for an IPv4 address out of an interface. */
export function sendGratuitousArp(opts: AnnounceOptions & { op?: 'request' | 'reply' }): number {
  const addon = resolveAddon(opts.addon);
  const ifindex = addon.ifIndex(opts.interface);
  const mac = opts.mac ?? interfaceMac(opts.interface);
  return addon.sendFrame(ifindex, buildGratuitousArp(mac, opts.address, opts.op));
}

/** Send an unsolicited neighbour advertisement for an IPv6 address out of an interface. */
export function sendUnsolicitedNA(opts: AnnounceOptions & { router?: boolean; source?: string }): number {
  const addon = resolveAddon(opts.addon);
  const ifindex = addon.ifIndex(opts.interface);
  const mac = opts.mac ?? interfaceMac(opts.interface);
  const na: { router?: boolean; source?: string } = {};
  if (opts.router !== undefined) na.router = opts.router;
  if (opts.source !== undefined) na.source = opts.source;
  return addon.sendFrame(ifindex, buildUnsolicitedNA(mac, opts.address, na));
}

/** if_nametoindex through the addon. */
export function ifIndex(ifname: string, addon?: RawAddon | string): number {
  return resolveAddon(addon).ifIndex(ifname);
}
