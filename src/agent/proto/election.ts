// The election: one state machine for CARP and VRRPv3, written the way BSD
// carp(4) reads. Three states (INIT, BACKUP, MASTER), two timers (the
// advertisement timer while MASTER, the master-down timer while BACKUP) and a
// node-wide demotion counter. Sans-IO: handle(event, now) returns the actions
// to carry out, in order, and the next deadline; it never sets a timer, reads
// a clock or touches a socket, and it never throws on input from the wire.
//
//                 start / link up / enable
//        INIT  ---------------------------->  BACKUP
//          ^                                  |    ^
//          | link down, disable, shutdown     |    | better advert seen
//          |                 master-down timer,    | (or, in maintenance,
//          |                 preempt, resign seen  |  any successor's)
//          |                                  v    |
//          +-------------------------------  MASTER
//
// Ranking (lower wins). CARP as OpenBSD: the demote byte first, then the
// advertisement interval advbase + advskew/256; on a tie the lower source
// address wins (ucarp's rule; carp(4) simply steps down on a tie). VRRPv3 as
// RFC 5798: the higher priority wins, on a tie the higher source address.
// A BACKUP with preempt takes over from a worse master as soon as it hears
// it, in both protocols, as carp(4) does (RFC 5798 instead ignores the worse
// master's adverts and lets Master_Down_Timer run out; a keepalived master
// yields either way, as it steps down on hearing a higher priority).
//
// Demotion is node-wide (NodeDemotion, shared by every VIP group of the node)
// so WAN and LAN move together: a counter in CARP skew units (FreeBSD's
// net.inet.carp.demotion; a downed interface adds 240 as FreeBSD's
// ifdown_demotion_factor does). CARP advertises advskew + counter clamped to
// 240 plus OpenBSD's demote byte; VRRPv3 advertises priority - counter
// clamped to 1..254. Timers use the effective values, so a demoted backup is
// also the slowest to time out.
//
// Graceful handover (maintenance): the MASTER at once sends a "resign" advert
// (CARP: advbase = advskew = 255, which carp(4), ucarp and carpd backups treat
// as "master will time out" and take over at once, preempt or not; VRRPv3:
// priority 0, so backups take over after Skew_Time) but keeps the VIP. The
// backup adds the VIP and advertises; only when the old master sees that
// advert does it release the VIP. No moment without a holder. If nobody takes
// over within `handoverAdverts` advertisement intervals it stays MASTER,
// demoted, rather than leave the VIP without a holder.

import { randomBytes } from 'node:crypto';
import { type DemotionSnapshot, MAINTENANCE, NodeDemotion } from './demotion.js';
import {
  CARP_BOW_OUT, CARP_MAXSKEW, type CarpDropReason, carpGroup, carpIntervalMs, decodeCarp, encodeCarp,
} from './carp.js';
import { type Family, compareIp, familyOf, normalizeIp, virtualMac } from './inet.js';
import {
  VRRP_PRIORITY_RESIGN, type Vrrp3ChecksumMode, type Vrrp3DropReason, decodeVrrp3, encodeVrrp3,
  vrrp3Group, vrrp3MasterDownMs, vrrp3SkewMs,
} from './vrrp3.js';

export type State = 'INIT' | 'BACKUP' | 'MASTER';

export type Reason =
  | 'timeout' | 'preempt' | 'demotion' | 'maintenance' | 'higher-priority-advert'
  | 'startup' | 'disabled' | 'link-down' | 'shutdown' | 'resign-received';

/** Why a received packet was not used. */
export type DropReason =
  | CarpDropReason | Vrrp3DropReason
  | 'badFamily'    // VRRPv3 packet of the other address family
  | 'self'         // our own advertisement looped back
  | 'unknownPeer'; // authenticated, but from an address not in the peer list

// ------------------------------------------------------------------ config

interface CommonConfig {
  /** CARP VHID or VRRP VRID, 1..255. */
  vhid: number;
  /** The VIPs of the group. */
  addresses: readonly string[];
  /** Our own address per family on the interface: advert source, tie-break, loop check. */
  sources: Partial<Record<Family, string>>;
  /** Opaque to the core; ElectionNode uses it to route link events. */
  interface?: string;
  /** A better backup takes over from a worse master (pfSense sets net.inet.carp.preempt=1). Default true. */
  preempt?: boolean;
  /** Send to these addresses instead of the multicast group. */
  unicastPeers?: readonly string[];
  /** Known peers; authenticated adverts from others are VHID conflicts. Default: unicastPeers. */
  peers?: readonly string[];
  /** Resign adverts a MASTER entering maintenance sends before giving up on a successor. Default 3. */
  handoverAdverts?: number;
  /** Minimum time between two conflict actions for the same reason. Default 10 s. */
  conflictReportMs?: number;
}

export interface CarpConfig extends CommonConfig {
  protocol: 'carp';
  /** Seconds, 1..255. */
  advbase: number;
  /** 1/256 s, 0..254. */
  advskew: number;
  password: string;
  /** First counter value; random by default. */
  counterSeed?: bigint;
}

export interface Vrrp3Config extends CommonConfig {
  protocol: 'vrrp3';
  /** 1..254 (255, the address owner, is not used). */
  priority: number;
  /** Advertisement interval in centiseconds, 1..4095. */
  interval: number;
  family: Family;
  /** How to checksum what we send. Default 'pseudo' (RFC 5798, keepalived). */
  checksumMode?: Vrrp3ChecksumMode;
  /** Checksum variants accepted. Default: see decodeVrrp3. */
  acceptChecksumModes?: readonly Vrrp3ChecksumMode[];
  /** Drop adverts whose address list differs from ours (keepalived's default). Default true. */
  checkAddresses?: boolean;
}

export type ElectionConfig = CarpConfig | Vrrp3Config;

// ---------------------------------------------------------- events, actions

export type ElectionEvent =
  | { type: 'start' }
  /** A received protocol-112 payload with its IP header fields. */
  | { type: 'packet'; payload: Uint8Array; src: string; dst: string; ttl?: number }
  | { type: 'timer' }
  | { type: 'link'; up: boolean }
  /** The shared NodeDemotion changed (demotion, maintenance enter/leave). */
  | { type: 'demotion' }
  | { type: 'disable' }
  | { type: 'enable' }
  | { type: 'shutdown' };

export interface OutPacket {
  family: Family;
  /** Source address to send from (required for VRRPv3: it is in the checksum). */
  src?: string;
  dst: string;
  /** The CARP/VRRP payload; the IP layer adds the header with TTL 255, protocol 112. */
  payload: Uint8Array;
  multicast: boolean;
}

export type AdvertFields =
  | { protocol: 'carp'; advbase: number; advskew: number; demote: number; counter: bigint }
  | { protocol: 'vrrp3'; priority: number; maxAdverInt: number };

export type Action =
  | { type: 'sendAdvert'; resign: boolean; fields: AdvertFields; packets: OutPacket[] }
  /** Add the VIPs (on the macvlan with vmac), then send gratuitous ARP / unsolicited NA. */
  | { type: 'becomeMaster'; vhid: number; addresses: readonly string[]; vmac: string; reason: Reason }
  /** Release the VIPs. */
  | { type: 'becomeBackup'; vhid: number; addresses: readonly string[]; reason: Reason }
  | { type: 'transition'; vhid: number; from: State; to: State; reason: Reason; at: number }
  | {
    type: 'conflict'; vhid: number; from?: string;
    kind: 'auth' | 'protocol' | 'addresses' | 'unknown-peer'; detail: DropReason; count: number; at: number;
  }
  | { type: 'log'; level: 'info' | 'warn'; vhid: number; message: string };

export interface Output {
  actions: Action[];
  /** When to deliver the next { type: 'timer' }; null when no timer runs. */
  deadline: number | null;
}

export interface Transition { from: State; to: State; reason: Reason; at: number }

export interface ElectionStatus {
  protocol: 'carp' | 'vrrp3';
  vhid: number;
  state: State;
  addresses: readonly string[];
  /** CARP: configured and advertised skew; VRRP: configured and advertised priority. */
  advbase?: number;
  advskew?: number;
  effectiveAdvskew?: number;
  priority?: number;
  effectivePriority?: number;
  /** Our advertisement interval in ms. */
  intervalMs: number;
  demotion: DemotionSnapshot;
  handingOver: boolean;
  lastTransition: Transition | null;
  /** Source of the last valid advert from another node, and when. */
  lastPeer: { address: string; at: number } | null;
  counters: {
    sent: number;
    received: number;
    dropped: Partial<Record<DropReason, number>>;
    droppedTotal: number;
    conflicts: number;
  };
  lastConflict: { at: number; from?: string; detail: DropReason } | null;
  deadline: number | null;
}

// -------------------------------------------------------------- the machine

/** A valid advertisement from another node, protocol-neutral. */
interface Heard {
  from: string;
  family: Family;
  /** CARP bow-out (255/255) or VRRP priority 0. */
  resign: boolean;
  /** Lower is better: [CARP demote byte or 0, interval in 1/256 s or 255 - priority]. */
  rank: readonly [number, number];
  /** VRRP: the master's Max Adver Int (cs). */
  intervalCs: number;
}

const CONFLICT: Partial<Record<DropReason, 'auth' | 'protocol' | 'addresses' | 'unknown-peer'>> = {
  badHmac: 'auth', badVersion: 'protocol', badAddrList: 'addresses', unknownPeer: 'unknown-peer',
};

export class Election {
  readonly config: ElectionConfig;
  readonly demotion: NodeDemotion;

  #state: State = 'INIT';
  #adAt: number | null = null; // advertisement timer (MASTER)
  #mdAt: number | null = null; // master-down timer (BACKUP)
  #mdReason: Reason = 'timeout';
  #handover: { left: number } | null = null;

  #started = false;
  #enabled = true;
  #linkUp = true;
  #seen: DemotionSnapshot;
  #counter: bigint;
  #masterAdverIntCs = 0;

  #sent = 0;
  #received = 0;
  #dropped: Partial<Record<DropReason, number>> = {};
  #droppedTotal = 0;
  #conflicts = 0;
  #lastConflict: ElectionStatus['lastConflict'] = null;
  #conflictReported = new Map<DropReason, number>();
  #lastTransition: Transition | null = null;
  #lastPeer: ElectionStatus['lastPeer'] = null;

  readonly #self: Set<string>;
  readonly #peers: Set<string> | null;

  constructor(config: ElectionConfig, demotion: NodeDemotion = new NodeDemotion()) {
    validate(config);
    this.config = config;
    this.demotion = demotion;
    this.#seen = demotion.snapshot();
    this.#counter = config.protocol === 'carp'
      ? (config.counterSeed ?? randomBytes(8).readBigUInt64BE())
      : 0n;
    this.#self = new Set(Object.values(config.sources).map((a) => normalizeIp(a) ?? a));
    const peers = config.peers ?? config.unicastPeers;
    this.#peers = peers && peers.length > 0 ? new Set(peers.map((a) => normalizeIp(a) ?? a)) : null;
  }

  get state(): State { return this.#state; }

  /** Feed one event at time `now` (ms, any monotonic origin). */
  handle(ev: ElectionEvent, now: number): Output {
    const out: Action[] = [];
    switch (ev.type) {
      case 'start': this.#started = true; this.#run(now, out); break;
      case 'enable': this.#enabled = true; this.#run(now, out); break;
      case 'link':
        this.#linkUp = ev.up;
        if (ev.up) this.#run(now, out); else this.#toInit('link-down', false, now, out);
        break;
      case 'disable': this.#enabled = false; this.#toInit('disabled', true, now, out); break;
      case 'shutdown': this.#started = false; this.#toInit('shutdown', true, now, out); break;
      case 'timer': this.#timers(now, out); break;
      case 'packet': this.#packet(ev, now, out); break;
      case 'demotion': this.#demotionChanged(now, out); break;
    }
    return { actions: out, deadline: this.deadline() };
  }

  deadline(): number | null {
    return this.#state === 'MASTER' ? this.#adAt : this.#state === 'BACKUP' ? this.#mdAt : null;
  }

  // ------------------------------------------------------------ transitions

  #run(now: number, out: Action[]): void {
    if (this.#state !== 'INIT' || !this.#started || !this.#enabled || !this.#linkUp) return;
    this.#masterAdverIntCs = this.config.protocol === 'vrrp3' ? this.config.interval : 0;
    this.#transition('BACKUP', 'startup', now, out);
    this.#resetMasterDown(now);
  }

  #toInit(reason: Reason, resign: boolean, now: number, out: Action[]): void {
    if (this.#state === 'INIT') return;
    const wasMaster = this.#state === 'MASTER';
    this.#transition('INIT', reason, now, out);
    if (wasMaster) {
      // Tell the backups first (keepalived sends priority 0, then removes the VIPs).
      if (resign) this.#advertise(true, out);
      out.push({ type: 'becomeBackup', vhid: this.config.vhid, addresses: this.config.addresses, reason });
    }
    this.#adAt = this.#mdAt = null;
    this.#handover = null;
  }

  #becomeMaster(reason: Reason, now: number, out: Action[]): void {
    this.#transition('MASTER', reason, now, out);
    // VIP first, advert second: a master handing over releases its VIP when
    // it sees this advert, so ours must already be in place.
    out.push({ type: 'becomeMaster', vhid: this.config.vhid, addresses: this.config.addresses, vmac: this.#vmac(), reason });
    this.#advertise(false, out);
    this.#mdAt = null;
    this.#adAt = now + this.#intervalMs();
  }

  #becomeBackup(reason: Reason, now: number, out: Action[]): void {
    this.#transition('BACKUP', reason, now, out);
    out.push({ type: 'becomeBackup', vhid: this.config.vhid, addresses: this.config.addresses, reason });
    this.#adAt = null;
    this.#handover = null;
    this.#resetMasterDown(now);
  }

  #transition(to: State, reason: Reason, now: number, out: Action[]): void {
    const from = this.#state;
    this.#state = to;
    this.#lastTransition = { from, to, reason, at: now };
    out.push({ type: 'transition', vhid: this.config.vhid, from, to, reason, at: now });
  }

  #resetMasterDown(now: number, delay = this.#masterDownMs(), reason: Reason = 'timeout'): void {
    this.#mdAt = now + delay;
    this.#mdReason = reason;
  }

  // ----------------------------------------------------------------- timers

  #timers(now: number, out: Action[]): void {
    if (this.#state === 'BACKUP' && this.#mdAt !== null && now >= this.#mdAt) {
      this.#becomeMaster(this.#mdReason, now, out);
    } else if (this.#state === 'MASTER' && this.#adAt !== null && now >= this.#adAt) {
      const h = this.#handover;
      if (h !== null && h.left === 0) {
        this.#handover = null;
        out.push({ type: 'log', level: 'warn', vhid: this.config.vhid, message: 'maintenance: no node took over; staying MASTER, demoted' });
      } else if (h !== null) h.left--;
      this.#advertise(this.#handover !== null, out);
      this.#adAt = now + this.#intervalMs();
    }
  }

  // ---------------------------------------------------------------- packets

  #packet(ev: Extract<ElectionEvent, { type: 'packet' }>, now: number, out: Action[]): void {
    const heard = this.#decode(ev, now, out);
    if (heard === null) return;
    this.#received++;
    this.#lastPeer = { address: heard.from, at: now };
    if (this.#state === 'BACKUP') this.#backupHeard(heard, now, out);
    else if (this.#state === 'MASTER') this.#masterHeard(heard, now, out);
  }

  #backupHeard(h: Heard, now: number, out: Action[]): void {
    const c = this.config;
    if (h.resign || this.#willTimeOut(h)) {
      // CARP: take over now (carp(4)'s "master will time out"). VRRP: after
      // Skew_Time, so the best backup goes first (RFC 5798 6.4.2).
      const delay = c.protocol === 'vrrp3' ? vrrp3SkewMs(this.#effectivePriority(), this.#masterAdverIntCs) : 0;
      if (delay === 0) this.#becomeMaster(h.resign ? 'resign-received' : 'timeout', now, out);
      else this.#resetMasterDown(now, delay, 'resign-received');
      return;
    }
    const ours = this.#rank();
    // OpenBSD: a master with a higher demote count is taken over, preempt or not.
    if (h.rank[0] > ours[0]) return this.#becomeMaster('preempt', now, out);
    if ((c.preempt ?? true) && compareRank(ours, h.rank) < 0) return this.#becomeMaster('preempt', now, out);
    if (c.protocol === 'vrrp3') this.#masterAdverIntCs = h.intervalCs;
    this.#resetMasterDown(now);
  }

  #masterHeard(h: Heard, now: number, out: Action[]): void {
    if (this.#handover !== null && !h.resign) return this.#becomeBackup(MAINTENANCE, now, out);
    if (!h.resign && this.#theyWin(h)) {
      if (this.config.protocol === 'vrrp3') this.#masterAdverIntCs = h.intervalCs;
      const d = this.demotion;
      return this.#becomeBackup(d.maintenance ? 'maintenance' : d.counter > 0 ? 'demotion' : 'higher-priority-advert', now, out);
    }
    // A worse master or a resigning one: assert ourselves now (RFC 5798 6.4.3
    // for priority 0; ucarp re-announces to a worse master).
    this.#advertise(this.#handover !== null, out);
    this.#adAt = now + this.#intervalMs();
  }

  /** CARP: the advert's interval exceeds our master-down time, e.g. a bow-out. */
  #willTimeOut(h: Heard): boolean {
    const c = this.config;
    return c.protocol === 'carp' && c.advbase > 0 && h.rank[1] > 3 * c.advbase * 256 + this.#effectiveSkew();
  }

  /** Full comparison as a MASTER makes it, ties broken by source address. */
  #theyWin(h: Heard): boolean {
    const d = compareRank(h.rank, this.#rank());
    if (d !== 0) return d < 0;
    const mine = this.config.sources[h.family];
    if (mine === undefined) return true; // carp(4): step down on a tie
    const byIp = compareIp(h.from, mine);
    return this.config.protocol === 'carp' ? byIp < 0 : byIp > 0;
  }

  #decode(ev: Extract<ElectionEvent, { type: 'packet' }>, now: number, out: Action[]): Heard | null {
    const c = this.config;
    const family = familyOf(ev.src);
    const from = normalizeIp(ev.src) ?? ev.src;
    const ttl = c.unicastPeers?.length ? undefined : ev.ttl; // FreeBSD checks TTL only for multicast
    let heard: Heard;
    if (c.protocol === 'carp') {
      const r = decodeCarp(ev.payload, { ttl, vhid: c.vhid, key: c });
      if (!r.ok) return this.#drop(r.reason, r.vhid, from, now, out);
      if (family === null) return this.#drop('badAddress', r.advert.vhid, from, now, out);
      const a = r.advert;
      heard = {
        from, family, resign: a.advbase === CARP_BOW_OUT && a.advskew === CARP_BOW_OUT,
        rank: [a.demote, a.advbase * 256 + a.advskew], intervalCs: 0,
      };
    } else {
      if (family !== null && family !== c.family) return this.#drop('badFamily', ev.payload[1], from, now, out);
      const r = decodeVrrp3(ev.payload, {
        src: ev.src, dst: ev.dst, ttl, vrid: c.vhid,
        ...(c.acceptChecksumModes ? { checksumModes: c.acceptChecksumModes } : {}),
        ...((c.checkAddresses ?? true) ? { expectedAddresses: c.addresses } : {}),
      });
      if (!r.ok) return this.#drop(r.reason, r.vhid, from, now, out);
      const a = r.advert;
      heard = {
        from, family: a.family, resign: a.priority === VRRP_PRIORITY_RESIGN,
        rank: [0, 255 - a.priority], intervalCs: a.maxAdverInt,
      };
    }
    if (this.#self.has(from)) return this.#drop('self', c.vhid, from, now, out);
    if (this.#peers !== null && !this.#peers.has(from)) return this.#drop('unknownPeer', c.vhid, from, now, out);
    return heard;
  }

  #drop(reason: DropReason, vhid: number | undefined, from: string, now: number, out: Action[]): null {
    this.#dropped[reason] = (this.#dropped[reason] ?? 0) + 1;
    this.#droppedTotal++;
    const kind = CONFLICT[reason];
    if (kind !== undefined && vhid === this.config.vhid) {
      this.#conflicts++;
      this.#lastConflict = { at: now, from, detail: reason };
      const last = this.#conflictReported.get(reason);
      if (last === undefined || now - last >= (this.config.conflictReportMs ?? 10_000)) {
        this.#conflictReported.set(reason, now);
        out.push({ type: 'conflict', vhid: this.config.vhid, from, kind, detail: reason, count: this.#conflicts, at: now });
      }
    }
    return null;
  }

  // -------------------------------------------------------------- demotion

  #demotionChanged(now: number, out: Action[]): void {
    const before = this.#seen, after = this.demotion.snapshot();
    this.#seen = after;
    if (before.counter !== after.counter || before.maintenance !== after.maintenance) {
      const why = Object.keys(after.reasons).join(', ') || 'none';
      out.push({ type: 'log', level: 'info', vhid: this.config.vhid, message: `demotion ${before.counter} -> ${after.counter} (${why})` });
    }
    if (this.#state !== 'MASTER') return;
    if (!before.maintenance && after.maintenance) {
      this.#handover = { left: Math.max((this.config.handoverAdverts ?? 3) - 1, 0) };
    } else if (before.maintenance && !after.maintenance) {
      this.#handover = null;
    } else if (before.counter === after.counter && before.demoteByte === after.demoteByte) return;
    // Tell the peers at once rather than at the next tick.
    this.#advertise(this.#handover !== null, out);
    this.#adAt = now + this.#intervalMs();
  }

  #effectiveSkew(): number {
    const c = this.config as CarpConfig, n = this.demotion.counter;
    if (n > 0) return Math.max(c.advskew, Math.min(c.advskew + n, CARP_MAXSKEW));
    return Math.max(c.advskew + n, 0);
  }

  #effectivePriority(): number {
    const c = this.config as Vrrp3Config, n = this.demotion.counter;
    if (n > 0) return Math.min(c.priority, Math.max(c.priority - n, 1));
    return Math.min(c.priority - n, 254);
  }

  #rank(): readonly [number, number] {
    const c = this.config;
    return c.protocol === 'carp'
      ? [this.demotion.demoteByte, c.advbase * 256 + this.#effectiveSkew()]
      : [0, 255 - this.#effectivePriority()];
  }

  #intervalMs(): number {
    const c = this.config;
    return c.protocol === 'carp' ? carpIntervalMs(c.advbase, this.#effectiveSkew()) : c.interval * 10;
  }

  #masterDownMs(): number {
    const c = this.config;
    if (c.protocol === 'vrrp3') return vrrp3MasterDownMs(this.#effectivePriority(), this.#masterAdverIntCs);
    // FreeBSD carp_setrun: 3 * advbase + advskew / 256 seconds.
    return Math.max(3 * c.advbase * 256 + this.#effectiveSkew(), 3) * 1000 / 256;
  }

  #vmac(): string {
    const c = this.config;
    const family = c.protocol === 'vrrp3' ? c.family : (familyOf(c.addresses[0] ?? '') ?? 4);
    return virtualMac(c.vhid, { protocol: c.protocol, family });
  }

  // ------------------------------------------------------------- sending

  #advertise(resign: boolean, out: Action[]): void {
    const c = this.config;
    const packets: OutPacket[] = [];
    let fields: AdvertFields;
    if (c.protocol === 'carp') {
      this.#counter = BigInt.asUintN(64, this.#counter + 1n);
      fields = {
        protocol: 'carp', counter: this.#counter, demote: this.demotion.demoteByte,
        advbase: resign ? CARP_BOW_OUT : c.advbase, advskew: resign ? CARP_BOW_OUT : this.#effectiveSkew(),
      };
      const payload = encodeCarp({ ...fields, vhid: c.vhid, password: c.password, addresses: c.addresses });
      for (const { family, dst, multicast } of this.#destinations()) {
        const src = c.sources[family];
        packets.push({ family, dst, payload, multicast, ...(src === undefined ? {} : { src }) });
      }
    } else {
      fields = { protocol: 'vrrp3', priority: resign ? VRRP_PRIORITY_RESIGN : this.#effectivePriority(), maxAdverInt: c.interval };
      const src = c.sources[c.family] as string; // validate() checked it
      for (const { family, dst, multicast } of this.#destinations()) {
        const payload = encodeVrrp3({
          vrid: c.vhid, priority: fields.priority, maxAdverInt: c.interval, addresses: c.addresses,
          src, dst, ...(c.checksumMode ? { checksumMode: c.checksumMode } : {}),
        });
        packets.push({ family, src, dst, payload, multicast });
      }
    }
    this.#sent++;
    out.push({ type: 'sendAdvert', resign, fields, packets });
  }

  #destinations(): Array<{ family: Family; dst: string; multicast: boolean }> {
    const c = this.config;
    const families: Family[] = c.protocol === 'vrrp3'
      ? [c.family]
      : ([4, 6] as const).filter((f) => c.addresses.some((a) => familyOf(a) === f));
    if (c.unicastPeers?.length) {
      return c.unicastPeers
        .map((dst) => ({ family: familyOf(dst), dst, multicast: false }))
        .filter((d): d is { family: Family; dst: string; multicast: false } => d.family !== null && families.includes(d.family));
    }
    return families.map((family) => ({
      family, dst: c.protocol === 'carp' ? carpGroup(family) : vrrp3Group(family), multicast: true,
    }));
  }

  // --------------------------------------------------------------- status

  status(): ElectionStatus {
    const c = this.config;
    const s: ElectionStatus = {
      protocol: c.protocol, vhid: c.vhid, state: this.#state, addresses: c.addresses,
      intervalMs: this.#intervalMs(),
      demotion: this.demotion.snapshot(),
      handingOver: this.#handover !== null,
      lastTransition: this.#lastTransition,
      lastPeer: this.#lastPeer,
      counters: {
        sent: this.#sent, received: this.#received, dropped: { ...this.#dropped },
        droppedTotal: this.#droppedTotal, conflicts: this.#conflicts,
      },
      lastConflict: this.#lastConflict,
      deadline: this.deadline(),
    };
    if (c.protocol === 'carp') {
      s.advbase = c.advbase; s.advskew = c.advskew; s.effectiveAdvskew = this.#effectiveSkew();
    } else {
      s.priority = c.priority; s.effectivePriority = this.#effectivePriority();
    }
    return s;
  }
}

function compareRank(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

function validate(c: ElectionConfig): void {
  const bad = (m: string) => { throw new RangeError(`election vhid ${c.vhid}: ${m}`); };
  if (!Number.isInteger(c.vhid) || c.vhid < 1 || c.vhid > 255) bad('vhid must be 1..255');
  if (c.addresses.length === 0) bad('no addresses');
  for (const a of [...c.addresses, ...Object.values(c.sources), ...(c.unicastPeers ?? []), ...(c.peers ?? [])]) {
    if (familyOf(a) === null) bad(`not an IP address: ${a}`);
  }
  if (c.protocol === 'carp') {
    if (!Number.isInteger(c.advbase) || c.advbase < 1 || c.advbase > 255) bad('advbase must be 1..255');
    if (!Number.isInteger(c.advskew) || c.advskew < 0 || c.advskew > 254) bad('advskew must be 0..254');
  } else {
    if (!Number.isInteger(c.priority) || c.priority < 1 || c.priority > 254) bad('priority must be 1..254');
    if (!Number.isInteger(c.interval) || c.interval < 1 || c.interval > 4095) bad('interval must be 1..4095 cs');
    if (c.addresses.some((a) => familyOf(a) !== c.family)) bad(`addresses must all be IPv${c.family}`);
    if (c.addresses.length > 255) bad('at most 255 addresses');
    if (familyOf(c.sources[c.family] ?? '') !== c.family) bad(`sources[${c.family}] is required for VRRPv3`);
  }
}
