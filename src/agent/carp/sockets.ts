// Raw sockets for adverts: one per (interface, family), shared by every VIP
// there, CARP and VRRPv3 alike (both are IP protocol 112 to 224.0.0.18 /
// ff02::12). Received packets are routed to their election by the VHID/VRID
// in byte 1 (peekVhid); the shell does the routing, this file only owns the
// sockets. No socket is bound to an address (a bound IPv4 raw socket stops
// receiving the multicast group): each send names its source through
// IP_PKTINFO / IPV6_PKTINFO instead. Sources are never filtered by MAC:
// ucarp sends from 00:00:5e:00:00:<vhid>.

import { RawSocket, type RawPacket } from '../../native/raw.js';
import type { Warn } from '../log.js';
import { CARP_MCAST_V4, CARP_MCAST_V6, type Family } from '../proto/index.js';

export interface SocketStats {
  interface: string;
  family: Family;
  open: boolean;
  received: number;
  sent: number;
  sendErrors: number;
  /** Datagrams longer than the receive buffer, or IPv4 with a broken header. */
  malformed: number;
  /** Adverts for a VHID that no VIP of ours uses here (other clusters on the segment). */
  unknownVhid: number;
  lastError?: string;
}

interface Entry { sock: RawSocket | null; stats: SocketStats }

export type PacketHandler = (iface: string, packet: RawPacket) => void;

export class AdvertSockets {
  readonly #entries = new Map<string, Entry>();
  readonly #onPacket: PacketHandler;
  readonly #warn: Warn;

  constructor(onPacket: PacketHandler, warn: Warn) {
    this.#onPacket = onPacket;
    this.#warn = warn;
  }

  /** Make sure a socket is open for (iface, family); false if it cannot be (yet). */
  ensure(iface: string, family: Family): boolean {
    const key = socketKey(iface, family);
    let e = this.#entries.get(key);
    if (!e) {
      e = { sock: null, stats: { interface: iface, family, open: false, received: 0, sent: 0, sendErrors: 0, malformed: 0, unknownVhid: 0 } };
      this.#entries.set(key, e);
    }
    if (e.sock && !e.sock.closed) return true;
    try {
      const sock = RawSocket.open({
        family, protocol: 112, interface: iface,
        groups: [family === 4 ? CARP_MCAST_V4 : CARP_MCAST_V6],
        ttl: 255, multicastLoop: false,
      });
      const entry = e;
      sock.on('packet', (p) => {
        entry.stats.received++;
        if (p.truncated) { entry.stats.malformed++; return; }
        this.#onPacket(iface, p);
      });
      sock.on('error', (err) => {
        entry.stats.lastError = err.message;
        this.#warn('advert socket error', { interface: iface, family, error: err.message });
      });
      e.sock = sock;
      e.stats.open = true;
      return true;
    } catch (err) {
      e.stats.lastError = (err as Error).message;
      e.stats.open = false;
      return false;
    }
  }

  /** Close and reopen (the interface was re-created: its ifindex changed). */
  reopen(iface: string): void {
    for (const family of [4, 6] as const) {
      const e = this.#entries.get(socketKey(iface, family));
      if (!e) continue;
      e.sock?.close();
      e.sock = null;
      e.stats.open = false;
      this.ensure(iface, family);
    }
  }

  /** Send one advert; errors (link down, address gone) are counted, never thrown. */
  send(iface: string, family: Family, payload: Uint8Array, dst: string, src?: string): boolean {
    const ready = this.ensure(iface, family); // reopens a socket that could not be opened before
    const e = this.#entries.get(socketKey(iface, family)) as Entry;
    try {
      if (!ready || !e.sock) throw new Error(e.stats.lastError ?? 'no socket');
      e.sock.send(payload, dst, undefined, src);
      e.stats.sent++;
      return true;
    } catch (err) {
      e.stats.sendErrors++;
      e.stats.lastError = (err as Error).message;
      return false;
    }
  }

  /**
   * Hand every advert already queued on the sockets to the packet handler now.
   * Called before a timeout is acted on: after the event loop was blocked
   * (a child process forked, a TLS handshake, GC on a slow box) libuv runs due
   * timers before it polls the sockets, so the master's adverts that arrived
   * meanwhile would otherwise be read only after a false "master down".
   */
  drain(): void {
    for (const e of this.#entries.values()) {
      if (e.sock && !e.sock.closed) e.sock.drain();
    }
  }

  countUnknownVhid(iface: string, family: Family): void {
    const e = this.#entries.get(socketKey(iface, family));
    if (e) e.stats.unknownVhid++;
  }

  /** Close sockets no VIP needs any more. */
  retain(keys: ReadonlySet<string>): void {
    for (const [k, e] of this.#entries) {
      if (keys.has(k)) continue;
      e.sock?.close();
      this.#entries.delete(k);
    }
  }

  stats(): SocketStats[] {
    return [...this.#entries.values()].map((e) => ({ ...e.stats }));
  }

  close(): void {
    for (const e of this.#entries.values()) e.sock?.close();
    this.#entries.clear();
  }
}

export function socketKey(iface: string, family: Family): string {
  return `${iface}/${family}`;
}
