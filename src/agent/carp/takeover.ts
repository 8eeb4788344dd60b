// Holding a VIP on Linux the way keepalived's use_vmac does it: each VIP has
// its own macvlan on the port (mode private, MAC 00:00:5e:00:01:<vhid>, or
// 00:00:5e:00:02:<vrid> for VRRP over IPv6). The macvlans are created down
// when carpd starts; the MASTER adds the VIP and brings its macvlan up, the
// BACKUP removes the VIP and takes it down. A macvlan that is down receives
// nothing, so a BACKUP can neither answer ARP for the virtual MAC nor leak a
// frame from it.
//
// Why a macvlan per VIP and mode private:
//   - the virtual MAC moves with mastership, so clients' ARP/neighbour caches
//     never change on failover; only the switch must relearn the port, which
//     the gratuitous ARP / unsolicited NA (sent from the virtual MAC) does;
//   - private mode: sibling macvlans (other VIPs on the same port) never see
//     each other's frames, not even broadcasts, so two VIPs share nothing but
//     the wire. (keepalived uses private mode too.)
// The VIP is added with noprefixroute (the port's own address already routes
// the subnet; a second connected route via the macvlan would make egress
// depend on route order) and, for IPv6, nodad (see sysctl.ts).
//
// Every change is one group of `ip` commands, run by a long-lived
// `ip -force -batch -` (ip.ts: no process start on the takeover path).
// Announcements follow keepalived's
// garp_master_repeat/garp_master_delay idea: several, spaced, cancelled if
// the VIP is released meanwhile.

import type { Warn } from '../log.js';
import { IpBatch, type IpRunner } from './ip.js';
import { readSysctl, writeSysctl, basePortSysctls, macvlanSysctls } from './sysctl.js';
import type { VipPlan } from './plan.js';

/** When to announce after a takeover (ms): at once, soon after in case the first were lost, and once more late. */
export const ANNOUNCE_SCHEDULE_MS = [0, 100, 500, 1500, 5000] as const;

export type Announcer = (v: VipPlan, router: boolean) => void;

export interface TakeoverStats { announcements: number; announceErrors: number; ipErrors: number }

export interface TakeoverOptions {
  ip?: IpRunner;
  announce: Announcer;
  warn: Warn;
  schedule?: readonly number[];
}

export class MacvlanTakeover {
  readonly stats: TakeoverStats = { announcements: 0, announceErrors: 0, ipErrors: 0 };
  readonly #ip: IpRunner;
  readonly #batch: IpBatch | undefined;
  readonly #announce: Announcer;
  readonly #warn: TakeoverOptions['warn'];
  readonly #schedule: readonly number[];
  readonly #timers = new Map<string, NodeJS.Timeout[]>();
  readonly #held = new Set<string>();

  constructor(opts: TakeoverOptions) {
    this.#batch = opts.ip ? undefined : new IpBatch();
    this.#ip = opts.ip ?? (this.#batch as IpBatch).run;
    this.#announce = opts.announce;
    this.#warn = opts.warn;
    this.#schedule = opts.schedule ?? ANNOUNCE_SCHEDULE_MS;
  }

  /** Whether we hold the VIP (as far as carpd knows). */
  holds(v: VipPlan): boolean {
    return this.#held.has(v.macvlan);
  }

  /**
   * Create (or re-create) the macvlans of these VIPs, down and empty, and set
   * the sysctls on them and their ports. A leftover macvlan of the same name
   * (carpd killed without its dead-man switch) is deleted first.
   */
  async prepare(vips: readonly VipPlan[]): Promise<void> {
    for (const port of new Set(vips.filter((v) => v.family === 4).map((v) => v.interface))) this.#sysctls(basePortSysctls(port));
    const cmds: string[] = [];
    for (const v of vips) {
      cmds.push(
        `link del dev ${v.macvlan}`,
        `link add link ${v.interface} name ${v.macvlan} address ${v.vmac} type macvlan mode private`,
      );
      if (v.family === 6) cmds.push(`link set dev ${v.macvlan} addrgenmode none`);
    }
    // The deletes fail when there is nothing to delete; only the rest counts.
    await this.#ip(cmds);
    const missing = vips.filter((v) => readSysctl(`net.ipv4.conf.${v.macvlan}.arp_ignore`) === undefined);
    for (const v of missing) this.#warn('macvlan not created', { macvlan: v.macvlan, port: v.interface });
    for (const v of vips) {
      if (!missing.includes(v)) this.#sysctls(macvlanSysctls(v.macvlan, v.interface, v.family));
      this.#held.delete(v.macvlan);
    }
  }

  /** Delete the macvlans (carpd stopping or the VIP removed from the site). */
  async remove(vips: readonly VipPlan[]): Promise<void> {
    for (const v of vips) { this.#cancel(v); this.#held.delete(v.macvlan); }
    if (vips.length) await this.#ip(vips.map((v) => `link del dev ${v.macvlan}`));
  }

  /** Stop the `ip` coprocess (carpd stopping). */
  close(): void {
    for (const timers of this.#timers.values()) for (const t of timers) clearTimeout(t);
    this.#timers.clear();
    this.#batch?.close();
  }

  /** MASTER: VIP on the macvlan, macvlan up, then announce. */
  async acquire(v: VipPlan): Promise<void> {
    const cmds = [
      `addr replace ${v.address}/${v.prefix} dev ${v.macvlan} noprefixroute${v.family === 6 ? ' nodad' : ''}`,
      `link set dev ${v.macvlan} up`,
    ];
    let r = await this.#ip(cmds);
    if (!r.ok) {
      // The macvlan may have been deleted under us: make it again, once.
      this.stats.ipErrors++;
      this.#warn('taking the VIP failed, re-creating its macvlan', { vip: v.name, error: r.stderr });
      await this.prepare([v]);
      r = await this.#ip(cmds);
      if (!r.ok) { this.stats.ipErrors++; this.#warn('taking the VIP failed', { vip: v.name, error: r.stderr }); }
    }
    this.#held.add(v.macvlan);
    this.#startAnnouncing(v);
  }

  /**
   * Announce again (the same schedule), for a MASTER that heard another node
   * claim the VIP: that node may have sent frames from the virtual MAC and
   * moved it to its own port on the switch, and a MASTER that wins without a
   * transition would otherwise never send from the virtual MAC again.
   */
  reannounce(v: VipPlan): void {
    if (this.#held.has(v.macvlan)) this.#startAnnouncing(v);
  }

  /** BACKUP: stop announcing, remove the VIP, macvlan down. */
  async release(v: VipPlan): Promise<void> {
    this.#cancel(v);
    this.#held.delete(v.macvlan);
    const r = await this.#ip([`addr flush dev ${v.macvlan}`, `link set dev ${v.macvlan} down`]);
    if (!r.ok) { this.stats.ipErrors++; this.#warn('releasing the VIP failed', { vip: v.name, error: r.stderr }); }
  }

  #startAnnouncing(v: VipPlan): void {
    this.#cancel(v);
    // Routers set the Router flag in neighbour advertisements (RFC 4861 7.2.6).
    const router = v.family === 6 && readSysctl(`net.ipv6.conf.${v.interface}.forwarding`) === '1';
    const announce = () => {
      try {
        this.#announce(v, router);
        this.stats.announcements++;
      } catch (e) {
        this.stats.announceErrors++;
        if (this.stats.announceErrors <= 3) this.#warn('announcement failed', { vip: v.name, error: (e as Error).message });
      }
    };
    // The first one right now, before acquire() returns: it must reach the
    // switch before our first advert makes a handing-over master let go.
    const timers: NodeJS.Timeout[] = [];
    for (const ms of this.#schedule) {
      if (ms === 0) announce();
      else timers.push(setTimeout(announce, ms));
    }
    for (const t of timers) t.unref();
    this.#timers.set(v.macvlan, timers);
  }

  #cancel(v: VipPlan): void {
    for (const t of this.#timers.get(v.macvlan) ?? []) clearTimeout(t);
    this.#timers.delete(v.macvlan);
  }

  #sysctls(list: Array<[string, number]>): void {
    for (const [k, val] of list) {
      const r = writeSysctl(k, val);
      if (!r.ok) this.#warn('sysctl not set', { key: k, value: val, error: r.error ?? '' });
    }
  }
}
