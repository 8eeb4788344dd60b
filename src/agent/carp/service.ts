// The election I/O shell: everything the sans-IO core (../proto) leaves to
// its caller, and nothing more.
//
//   events in                         core                       actions out
//   ---------                         ----                       -----------
//   advert socket ---- packet ---->                 +----> sendAdvert   -> raw socket
//   one timer (next deadline) ---->  ElectionNode   +----> becomeMaster -> hooks, macvlan + VIP, GARP/NA
//   link monitor ----- setLink --->  (one Election  +----> becomeBackup -> VIP released
//   CLI: maintenance, disable, --->   per VIP, one  +----> transition   -> log, listeners
//        enable, demote               demotion)     +----> conflict/log -> log
//
// Rules the shell keeps:
//   - One clock (performance.now, monotonic) and one timer, re-armed for the
//     earliest deadline the core returns; a timer that fires early is
//     harmless (nothing is due, it is re-armed).
//   - Actions are carried out in the order the core gave them, per VIP: a
//     queue each, so a slow takeover (ip, a before-master hook) delays that
//     VIP's next advert but never another VIP's, and never reorders "VIP
//     first, advert second". Adverts that queued up behind a slow step are
//     coalesced into the newest one.
//   - Nothing from the wire can throw out of here: the core never throws on
//     input, and the shell counts anything unexpected as an internal error.
//   - Maintenance is persisted before it is applied; disable/enable and
//     manual demotion are deliberately not (they last until carpd restarts).

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sendGratuitousArp, sendUnsolicitedNA } from '../../native/raw.js';
import type { Site } from '../../config/types.js';
import type { Logger } from '../log.js';
import {
  type Action, type DemotionSnapshot, type Election, ElectionNode, type Family, type NodeOutput, type Reason, type State,
  formatIp, peekVhid,
} from '../proto/index.js';
import { DeadmanSwitch } from './deadman.js';
import { LinkMonitor, type LinkState, readLink } from './links.js';
import { type VipPlan, electionConfig, planKey, planVips } from './plan.js';
import { AdvertSockets, socketKey, type SocketStats } from './sockets.js';
import { MacvlanTakeover, type TakeoverStats } from './takeover.js';

/** Emitted for every state change of every VIP (issue 4's state sync listens here). */
export interface TransitionEvent {
  vip: string;
  vhid: number;
  interface: string;
  from: State;
  to: State;
  reason: Reason;
  at: Date;
}

export interface BeforeMasterEvent { vip: string; vhid: number; interface: string; reason: Reason }
/** Awaited before a VIP is taken over (and so before our first advert as MASTER). */
export type BeforeMasterHook = (ev: BeforeMasterEvent) => Promise<void>;

export interface CarpPersisted { maintenance: boolean; since?: string }

export interface CarpPersistence {
  load(): Promise<CarpPersisted>;
  save(p: CarpPersisted): Promise<void>;
}

/** What holds VIPs (MacvlanTakeover on Linux; a fake in unit tests). */
export interface VipHolder {
  readonly stats: TakeoverStats;
  prepare(vips: readonly VipPlan[]): Promise<void>;
  remove(vips: readonly VipPlan[]): Promise<void>;
  acquire(v: VipPlan): Promise<void>;
  release(v: VipPlan): Promise<void>;
  holds(v: VipPlan): boolean;
  /** Gratuitous ARP / NA again for a VIP we hold. */
  reannounce(v: VipPlan): void;
  close?(): void;
}

/** The advert sockets as the service uses them (AdvertSockets; a fake in unit tests). */
export type AdvertTransport = Pick<AdvertSockets, 'ensure' | 'reopen' | 'send' | 'countUnknownVhid' | 'retain' | 'stats' | 'close'> &
  Partial<Pick<AdvertSockets, 'drain'>>;

export interface CarpServiceOptions {
  node: string;
  log: Logger;
  persistence: CarpPersistence;
  /** Longest a before-master hook may delay a takeover (default 10 s; then it goes ahead, warned). */
  beforeMasterTimeoutMs?: number;
  // Seams for unit tests; the defaults are the real thing.
  now?: () => number;
  holder?: VipHolder;
  transport?: (onPacket: (iface: string, p: IncomingPacket) => void) => AdvertTransport;
  readLink?: (iface: string) => LinkState;
  /** How often sysfs is read besides netlink events (default 2 s). */
  linkPollMs?: number;
  linkLocalOf?: (iface: string) => string | undefined;
  deadman?: boolean;
}

export interface IncomingPacket { family: Family; payload: Uint8Array; source: string; destination: string; ttl: number }

/** What a VIP's queue carries: the core's actions, and the shell's own re-announcement. */
type Step = Action | { type: 'reannounce' };

interface Runtime {
  plan: VipPlan;
  key: string;
  /** null while the advert source (a link-local address) is not known yet. */
  election: Election | null;
  queue: Step[];
  running: boolean;
  /** When the VIP was last announced again after a contest (performance.now). */
  reannouncedAt: number;
  idle: Array<() => void>;
}

export interface VipStatusView {
  name: string;
  interface: string;
  address: string;
  family: Family;
  vhid: number;
  protocol: 'carp' | 'vrrp3';
  vmac: string;
  macvlan: string;
  unicast: boolean;
  state: State | 'PENDING';
  pending?: string;
  holding: boolean;
  /** CARP advbase (s); VRRPv3 advertisement interval (ms). */
  advbase?: number;
  intervalMs: number;
  /** This node's configured skew (site advskew + node offset). */
  advskew: number;
  effectiveAdvskew?: number;
  priority?: number;
  effectivePriority?: number;
  demotion: { counter: number; reasons: Record<string, number> };
  maintenance: boolean;
  handingOver: boolean;
  lastTransition: { from: State; to: State; reason: Reason; at: string } | null;
  lastPeer: { address: string; at: string } | null;
  counters: { sent: number; received: number; dropped: Record<string, number>; droppedTotal: number; conflicts: number };
  lastConflict: { at: string; from?: string; detail: string } | null;
}

export interface CarpStatusView {
  running: boolean;
  error: string | null;
  enabled: boolean;
  maintenance: boolean;
  maintenanceSince?: string;
  demotion: DemotionSnapshot;
  links: Array<{ interface: string; up: boolean; operstate: string }>;
  sockets: SocketStats[];
  takeover: TakeoverStats;
  deadman: boolean;
  internalErrors: number;
  vips: VipStatusView[];
}

const IF_INET6_TENTATIVE = 0x40;
const IF_INET6_DADFAILED = 0x08;

/** The interface's usable (not tentative) IPv6 link-local address, from /proc/net/if_inet6. */
export function linkLocalOf(iface: string): string | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/if_inet6', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [hex, , , scope, flags, name] = line.trim().split(/\s+/);
    if (name !== iface || scope !== '20' || hex === undefined || hex.length !== 32) continue;
    if (Number.parseInt(flags ?? '0', 16) & (IF_INET6_TENTATIVE | IF_INET6_DADFAILED)) continue;
    return formatIp(Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16)));
  }
  return undefined;
}

function withTimeout(p: Promise<void>, ms: number): Promise<'done' | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => 'done' as const),
    new Promise<'timeout'>((r) => { t = setTimeout(() => r('timeout'), ms); }),
  ]).finally(() => clearTimeout(t));
}

export declare interface CarpService {
  on(event: 'transition', listener: (ev: TransitionEvent) => void): this;
  /** A MASTER's VIP is in place (after the before-master hooks and the takeover). */
  on(event: 'held', listener: (vip: string) => void): this;
  off(event: 'transition', listener: (ev: TransitionEvent) => void): this;
}

export class CarpService extends EventEmitter {
  readonly node = new ElectionNode();
  readonly #o: CarpServiceOptions;
  readonly #now: () => number;
  readonly #holder: VipHolder;
  readonly #transport: AdvertTransport;
  readonly #links: LinkMonitor;
  readonly #deadman: DeadmanSwitch | null;
  readonly #linkLocalOf: (iface: string) => string | undefined;
  readonly #hooks = new Set<BeforeMasterHook>();

  #rts: Runtime[] = [];
  readonly #byElection = new Map<Election, Runtime>();
  readonly #byRoute = new Map<string, Runtime>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #enabled = true;
  #running = false;
  #error: string | null = null;
  #maintenanceSince: string | undefined;
  #internalErrors = 0;
  readonly #origin: number;

  constructor(opts: CarpServiceOptions) {
    super();
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#origin = Date.now() - this.#now();
    const warn = (msg: string, fields?: Record<string, string | number | boolean | undefined>) => opts.log.warn(msg, fields);
    this.#holder = opts.holder ?? new MacvlanTakeover({ warn, announce: announceVip });
    const onPacket = (iface: string, p: IncomingPacket) => this.#packet(iface, p);
    this.#transport = opts.transport ? opts.transport(onPacket) : new AdvertSockets(onPacket, warn);
    this.#links = new LinkMonitor({ read: opts.readLink ?? readLink, ...(opts.linkPollMs ? { pollMs: opts.linkPollMs } : {}) });
    this.#deadman = opts.deadman === false ? null : new DeadmanSwitch(warn);
    this.#linkLocalOf = opts.linkLocalOf ?? linkLocalOf;
    this.#links.on('change', (iface, st, before) => this.#linkChanged(iface, st, before));
    this.#links.on('event', () => this.#createPending());
  }

  /** Register a hook awaited before every takeover; returns its removal. */
  beforeMaster(hook: BeforeMasterHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  get running(): boolean { return this.#running; }

  // ------------------------------------------------------------ lifecycle

  async start(site: Site): Promise<void> {
    const saved = await this.#o.persistence.load().catch(() => ({ maintenance: false }) as CarpPersisted);
    if (saved.maintenance) {
      // Persistent maintenance: demoted before the first advert is ever sent.
      this.#maintenanceSince = saved.since;
      this.node.enterMaintenance(this.#now());
      this.#o.log.info('maintenance mode (persisted) is on', { since: saved.since });
    }
    this.#running = true;
    await this.#add(planVips(site, this.#o.node));
    this.#links.start();
  }

  /** Graceful stop: resign every VIP (peers take over at once), release, clean up. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#apply(this.node.shutdown(this.#now()));
    this.#running = false;
    this.#disarmTimer();
    await this.#idle(this.#rts, 3000);
    this.#links.stop();
    await this.#holder.remove(this.#rts.map((r) => r.plan));
    this.#holder.close?.();
    this.#deadman?.disarm();
    this.#transport.close();
  }

  /**
   * A new site config: VIPs whose parameters did not change keep running
   * untouched; removed or changed ones resign and are released, new or
   * changed ones start as BACKUP.
   */
  async reconfigure(site: Site): Promise<{ kept: number; removed: number; added: number }> {
    const plans = planVips(site, this.#o.node);
    const keys = new Set(plans.map(planKey));
    const gone = this.#rts.filter((r) => !keys.has(r.key));
    const keptKeys = new Set(this.#rts.filter((r) => keys.has(r.key)).map((r) => r.key));
    const fresh = plans.filter((p) => !keptKeys.has(planKey(p)));
    if (gone.length === 0 && fresh.length === 0) return { kept: this.#rts.length, removed: 0, added: 0 };
    const now = this.#now();
    for (const r of gone) if (r.election) this.#apply([{ election: r.election, actions: r.election.handle({ type: 'shutdown' }, now).actions }]);
    await this.#idle(gone, 3000);
    await this.#holder.remove(gone.map((r) => r.plan));
    for (const r of gone) this.#forget(r);
    await this.#add(fresh);
    // A port that no longer carries any VIP no longer demotes the node, up or down.
    const ports = new Set(this.#rts.map((r) => r.plan.interface));
    for (const reason of Object.keys(this.node.demotion.snapshot().reasons)) {
      if (reason.startsWith('link:') && !ports.has(reason.slice(5))) this.#apply(this.node.demote(reason, null, this.#now()));
    }
    return { kept: this.#rts.length - fresh.length, removed: gone.length, added: fresh.length };
  }

  // ------------------------------------------------------------- commands

  async setMaintenance(on: boolean): Promise<void> {
    const since = on ? (this.node.demotion.maintenance ? this.#maintenanceSince : undefined) ?? new Date().toISOString() : undefined;
    // Persist first: a crash right after must not forget the operator's order.
    await this.#o.persistence.save(on ? { maintenance: true, since: since as string } : { maintenance: false });
    this.#maintenanceSince = since;
    this.#o.log.info(on ? 'maintenance mode entered' : 'maintenance mode left');
    this.#apply(on ? this.node.enterMaintenance(this.#now()) : this.node.leaveMaintenance(this.#now()));
  }

  /** Temporarily disable CARP on this node: every VIP resigns and is released (until enable or restart). */
  disable(): void {
    this.#enabled = false;
    this.#o.log.info('CARP disabled');
    this.#apply(this.node.disable(this.#now()));
  }

  enable(): void {
    this.#enabled = true;
    this.#o.log.info('CARP enabled');
    this.#apply(this.node.enable(this.#now()));
  }

  /** Adjust the manual demotion by `delta` skew units (negative promotes), or clear it. */
  demote(delta: number | 'clear'): number {
    const current = this.node.demotion.snapshot().reasons.manual ?? 0;
    const next = delta === 'clear' ? 0 : current + delta;
    this.#o.log.info('manual demotion', { from: current, to: next });
    this.#apply(this.node.demote('manual', next === 0 ? null : next, this.#now()));
    return next;
  }

  // -------------------------------------------------------------- running

  async #add(plans: readonly VipPlan[]): Promise<void> {
    if (plans.length === 0) return;
    await this.#holder.prepare(plans);
    for (const plan of plans) {
      const rt: Runtime = { plan, key: planKey(plan), election: null, queue: [], running: false, idle: [], reannouncedAt: -Infinity };
      this.#rts.push(rt);
      this.#byRoute.set(`${socketKey(plan.interface, plan.family)}/${plan.vhid}`, rt);
    }
    const sockets = new Set(this.#rts.map((r) => socketKey(r.plan.interface, r.plan.family)));
    for (const r of this.#rts) this.#transport.ensure(r.plan.interface, r.plan.family);
    this.#transport.retain(sockets);
    this.#links.watch(this.#rts.map((r) => r.plan.interface));
    this.#armDeadman();
    this.#createPending();
  }

  #forget(r: Runtime): void {
    this.#rts = this.#rts.filter((x) => x !== r);
    this.#byRoute.delete(`${socketKey(r.plan.interface, r.plan.family)}/${r.plan.vhid}`);
    if (r.election) {
      this.#byElection.delete(r.election);
      const i = this.node.elections.indexOf(r.election);
      if (i >= 0) this.node.elections.splice(i, 1);
    }
    this.#transport.retain(new Set(this.#rts.map((x) => socketKey(x.plan.interface, x.plan.family))));
    this.#links.watch(this.#rts.map((x) => x.plan.interface));
    this.#armDeadman();
  }

  /** Start the elections whose advert source is known (IPv6 link-locals appear after DAD). */
  #createPending(): void {
    if (!this.#running) return;
    for (const rt of this.#rts) {
      if (rt.election) continue;
      const source = rt.plan.source === 'link-local' ? this.#linkLocalOf(rt.plan.interface) : rt.plan.source;
      if (source === undefined) continue;
      const e = this.node.add(electionConfig(rt.plan, source));
      rt.election = e;
      this.#byElection.set(e, rt);
      const now = this.#now();
      const link = this.#links.state(rt.plan.interface);
      const out: NodeOutput[] = [];
      if (!this.#enabled) out.push({ election: e, actions: e.handle({ type: 'disable' }, now).actions });
      if (!link.up) out.push(...this.node.setLink(rt.plan.interface, false, now));
      out.push({ election: e, actions: e.handle({ type: 'start' }, now).actions });
      this.#o.log.info('vip', {
        vip: rt.plan.name, vhid: rt.plan.vhid, protocol: rt.plan.protocol, interface: rt.plan.interface,
        address: `${rt.plan.address}/${rt.plan.prefix}`, source, link: link.up ? 'up' : 'down',
      });
      this.#apply(out);
    }
  }

  #linkChanged(iface: string, st: LinkState, before: LinkState): void {
    if (st.exists && st.ifindex !== before.ifindex) {
      // The port was re-created: sockets bound to the old ifindex hear nothing.
      this.#transport.reopen(iface);
    }
    this.#o.log.info(st.up ? 'link up' : 'link down', { interface: iface, operstate: st.operstate });
    if (!this.#running) return;
    this.#apply(this.node.setLink(iface, st.up, this.#now()));
  }

  #packet(iface: string, p: IncomingPacket): void {
    if (!this.#running) return;
    const rt = this.#byRoute.get(`${socketKey(iface, p.family)}/${peekVhid(p.payload) ?? -1}`);
    if (!rt?.election) {
      this.#transport.countUnknownVhid(iface, p.family);
      return;
    }
    const ev = { type: 'packet' as const, payload: p.payload, src: p.source, dst: p.destination, ttl: p.ttl };
    try {
      const e = rt.election;
      const wasMaster = e.state === 'MASTER';
      const outs = this.node.handle(e, ev, this.#now());
      // A MASTER answers another master's advert with its own and stays
      // MASTER: a contest it won (the other just started, or a split brain
      // is healing). The loser may have moved the virtual MAC on the switch.
      // At most once a second: a partitioned peer that cannot hear us keeps claiming the VIP.
      const now = this.#now();
      if (wasMaster && e.state === 'MASTER' && now - rt.reannouncedAt >= 1000 && outs.some((o) => o.actions.some((a) => a.type === 'sendAdvert' && !a.resign))) {
        rt.reannouncedAt = now;
        rt.queue.push({ type: 'reannounce' });
      }
      this.#apply(outs);
    } catch (e) {
      // The core never throws on input (it is fuzzed for that); if it ever did, count it and go on.
      this.#internalError(`packet for vip ${rt.plan.name}`, e);
    }
  }

  /** Queue the core's actions and re-arm the timer. */
  #apply(outs: readonly NodeOutput[]): void {
    for (const o of outs) {
      const rt = this.#byElection.get(o.election);
      if (!rt || o.actions.length === 0) continue;
      rt.queue.push(...o.actions);
      if (!rt.running) void this.#drain(rt);
    }
    this.#arm();
  }

  async #drain(rt: Runtime): Promise<void> {
    rt.running = true;
    try {
      while (rt.queue.length > 0) {
        const a = rt.queue.shift() as Step;
        // An advert with a newer one right behind it says nothing new.
        if (a.type === 'sendAdvert' && rt.queue[0]?.type === 'sendAdvert') continue;
        try {
          const pending = this.#exec(rt, a);
          if (pending) await pending;
        } catch (e) {
          this.#internalError(`${a.type} for vip ${rt.plan.name}`, e);
        }
      }
    } finally {
      rt.running = false;
      for (const f of rt.idle.splice(0)) f();
    }
  }

  #exec(rt: Runtime, a: Step): Promise<void> | void {
    const v = rt.plan;
    switch (a.type) {
      case 'reannounce':
        this.#o.log.info('another master was heard; announcing the VIP again', { vip: v.name, vhid: v.vhid });
        return this.#holder.reannounce(v);
      case 'sendAdvert':
        for (const p of a.packets) this.#transport.send(v.interface, p.family, p.payload, p.dst, p.src);
        return;
      case 'becomeMaster':
        return this.#takeOver(rt, a.reason);
      case 'becomeBackup':
        return this.#holder.release(v);
      case 'transition': {
        const at = this.#wall(a.at);
        this.#o.log.info('transition', { vip: v.name, vhid: v.vhid, interface: v.interface, from: a.from, to: a.to, reason: a.reason });
        const ev: TransitionEvent = { vip: v.name, vhid: v.vhid, interface: v.interface, from: a.from, to: a.to, reason: a.reason, at };
        for (const l of this.listeners('transition') as Array<(e: TransitionEvent) => void>) {
          try { l(ev); } catch (e) { this.#internalError('transition listener', e); }
        }
        return;
      }
      case 'conflict':
        this.#o.log.warn('VHID conflict', {
          vip: v.name, vhid: a.vhid, interface: v.interface, kind: a.kind, detail: a.detail, from: a.from, count: a.count,
        });
        return;
      case 'log':
        this.#o.log[a.level](a.message, { vip: v.name, vhid: a.vhid });
        return;
    }
  }

  async #takeOver(rt: Runtime, reason: Reason): Promise<void> {
    const v = rt.plan;
    // Superseded while queued (a better master was heard meanwhile): do not grab the VIP only to drop it.
    const superseded = () => rt.queue.some((q) => q.type === 'becomeBackup');
    if (superseded()) return;
    for (const hook of this.#hooks) {
      const r = await withTimeout(
        hook({ vip: v.name, vhid: v.vhid, interface: v.interface, reason }).catch((e: unknown) => {
          this.#o.log.warn('before-master hook failed; taking over anyway', { vip: v.name, error: e instanceof Error ? e.message : String(e) });
        }),
        this.#o.beforeMasterTimeoutMs ?? 10_000,
      );
      if (r === 'timeout') this.#o.log.warn('before-master hook timed out; taking over anyway', { vip: v.name });
    }
    if (superseded()) return;
    await this.#holder.acquire(v);
    // The VIP is in place now (a transition to MASTER precedes this by the hooks' time).
    this.emit('held', v.name);
  }

  #idle(rts: readonly Runtime[], timeoutMs: number): Promise<unknown> {
    const waits = rts.filter((r) => r.running).map((r) => new Promise<void>((res) => r.idle.push(res)));
    return withTimeout(Promise.all(waits).then(() => undefined), timeoutMs);
  }

  // ------------------------------------------------------------- the timer

  /**
   * One timer for all elections, armed for the earliest deadline. When it is
   * already armed for an earlier moment it is left alone: it will fire, find
   * nothing due and re-arm (a BACKUP hearing adverts moves its deadline
   * later on every packet; this saves re-arming on each).
   */
  #arm(): void {
    if (!this.#running) return;
    const d = this.node.deadline();
    if (d === null) return this.#disarmTimer();
    if (this.#timer !== undefined && this.#timerAt <= d) return;
    this.#disarmTimer();
    this.#timerAt = d;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      try {
        // Adverts that arrived while the loop was busy count before any timeout does.
        this.#transport.drain?.();
        this.#apply(this.node.tick(this.#now()));
      } catch (e) {
        this.#internalError('timer', e);
        this.#arm();
      }
    }, Math.max(0, Math.ceil(d - this.#now())));
  }

  #disarmTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  // --------------------------------------------------------------- helpers

  #armDeadman(): void {
    if (!this.#deadman) return;
    this.#deadman.arm(this.#rts.map((r) => ({ name: r.plan.macvlan, ifindex: readLink(r.plan.macvlan).ifindex })));
  }

  #internalError(what: string, e: unknown): void {
    this.#internalErrors++;
    if (this.#internalErrors <= 20) this.#o.log.error('internal error', { in: what, error: e instanceof Error ? e.message : String(e) });
  }

  /**
   * Core times (performance.now) as wall-clock dates, from one origin taken
   * at start, so the same moment always reads the same.
   */
  #wall(at: number): Date {
    return new Date(Math.round(this.#origin + at));
  }

  // ---------------------------------------------------------------- status

  status(): CarpStatusView {
    const d = this.node.demotion.snapshot();
    const ifaces = [...new Set(this.#rts.map((r) => r.plan.interface))];
    const view: CarpStatusView = {
      running: this.#running,
      error: this.#error,
      enabled: this.#enabled,
      maintenance: d.maintenance,
      demotion: d,
      links: ifaces.map((i) => { const s = this.#links.state(i); return { interface: i, up: s.up, operstate: s.operstate }; }),
      sockets: this.#transport.stats(),
      takeover: { ...this.#holder.stats },
      deadman: this.#deadman?.armed ?? false,
      internalErrors: this.#internalErrors,
      vips: this.#rts.map((r) => this.#vipStatus(r)),
    };
    if (d.maintenance && this.#maintenanceSince) view.maintenanceSince = this.#maintenanceSince;
    return view;
  }

  /** Record a start-up failure for status (the daemon keeps serving). */
  fail(message: string): void {
    this.#error = message;
  }

  #vipStatus(r: Runtime): VipStatusView {
    const p = r.plan;
    const base = {
      name: p.name, interface: p.interface, address: `${p.address}/${p.prefix}`, family: p.family, vhid: p.vhid,
      protocol: p.protocol, vmac: p.vmac, macvlan: p.macvlan, unicast: p.unicast, holding: this.#holder.holds(p), advskew: p.skew,
    };
    const d = this.node.demotion.snapshot();
    if (!r.election) {
      return {
        ...base, state: 'PENDING', pending: 'waiting for the IPv6 link-local address of the interface',
        intervalMs: p.election.protocol === 'carp' ? p.election.advbase * 1000 : p.election.interval * 10,
        demotion: { counter: d.counter, reasons: d.reasons }, maintenance: d.maintenance, handingOver: false,
        lastTransition: null, lastPeer: null,
        counters: { sent: 0, received: 0, dropped: {}, droppedTotal: 0, conflicts: 0 }, lastConflict: null,
      };
    }
    const s = r.election.status();
    const iso = (at: number) => this.#wall(at).toISOString();
    const view: VipStatusView = {
      ...base,
      state: s.state,
      intervalMs: Math.round(s.intervalMs * 1000) / 1000,
      demotion: { counter: s.demotion.counter, reasons: s.demotion.reasons },
      maintenance: s.demotion.maintenance,
      handingOver: s.handingOver,
      lastTransition: s.lastTransition ? { ...s.lastTransition, at: iso(s.lastTransition.at) } : null,
      lastPeer: s.lastPeer ? { address: s.lastPeer.address, at: iso(s.lastPeer.at) } : null,
      counters: { ...s.counters, dropped: s.counters.dropped as Record<string, number> },
      lastConflict: s.lastConflict ? { ...s.lastConflict, at: iso(s.lastConflict.at) } : null,
    };
    if (s.advbase !== undefined) view.advbase = s.advbase;
    if (s.effectiveAdvskew !== undefined) view.effectiveAdvskew = s.effectiveAdvskew;
    if (s.priority !== undefined) view.priority = s.priority;
    if (s.effectivePriority !== undefined) view.effectivePriority = s.effectivePriority;
    return view;
  }
}

/** Gratuitous ARP (IPv4) or unsolicited NA (IPv6) for the VIP, from its virtual MAC. */
function announceVip(v: VipPlan, router: boolean): void {
  if (v.family === 4) sendGratuitousArp({ interface: v.macvlan, address: v.address, mac: v.vmac });
  else sendUnsolicitedNA({ interface: v.macvlan, address: v.address, mac: v.vmac, router });
}
