/**
 * DataplaneService: everything on a node that forwards packets besides the
 * election itself: router sysctls, the nftables firewall and NAT, and
 * conntrackd (supervised, driven by the election). One per carpd.
 *
 *   const dp = new DataplaneService({ node, runDir, log });
 *   await dp.start(site);       // sysctls, nft, conntrackd: before the election starts
 *   dp.attach(carp);            // transitions, the before-master hook, the holdoff
 *   dp.unit();                  // the firewall + conntrackd.conf as a ConfigSync service unit
 *   dp.status();                // for `carpd status` (status.dataplane)
 *   await dp.stop();            // conntrackd stopped; the ruleset stays loaded
 *
 * Failure policy: nothing here stops carpd. A step that fails is recorded
 * in status and logged; a node whose ruleset did not load at start is
 * demoted (reason "firewall") so that it does not become master while its
 * peer can, and conntrackd that cannot start is retried with backoff.
 */
import { readlinkSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import type { Site } from '../../config/types.js';
import type { BeforeMasterHook, TransitionEvent } from '../carp/service.js';
import type { SyncLog } from '../configsync/types.js';
import type { ServiceUnit } from '../configsync/transaction.js';
import { applyRuleset, applySysctls, checkRuleset, sysctlKey, type NftOptions, type Sysctl } from '../firewall/index.js';
import { runConntrackd, type StateSyncOptions } from '../statesync/index.js';
import { conntrackdPaths, planDataplane, type ConntrackdPaths, type DataplanePlan } from './plan.js';
import { ConntrackdSupervisor, type SupervisorStatus } from './supervisor.js';
import { SyncDriver, type SyncDriverStatus } from './sync-driver.js';
import type { ResyncWatchOptions } from './resync.js';

/** Demotion reasons this service holds in the election (carpd status shows them). */
export const DEMOTION = {
  /** Until the peer's table has arrived after start or a demotion. */
  stateSync: 'statesync',
  /** While the site's ruleset is not loaded. */
  firewall: 'firewall',
} as const;

/** What the service needs of the election (CarpService fits). */
export interface ElectionLink {
  on(event: 'transition', listener: (ev: TransitionEvent) => void): unknown;
  beforeMaster(hook: BeforeMasterHook): () => void;
  readonly node: { readonly demotion: { set(reason: string, amount?: number): boolean; clear(reason: string): boolean } };
}

export interface DataplaneOptions {
  node: string;
  /** conntrackd's config, socket, lock, log and pid live in <runDir>/conntrackd/. */
  runDir: string;
  log: SyncLog;
  /** Load the site's nftables ruleset. Default true. */
  firewall?: boolean;
  /** Run conntrackd when the site has state sync. Default true. */
  stateSync?: boolean;
  nft?: NftOptions;
  /** conntrackd executable. Default "conntrackd". */
  conntrackdBin?: string;
  conntrackMax?: number;
  transport?: StateSyncOptions;
  /** Skip host-wide sysctls. Default: when carpd is not in the initial network namespace (rigs). */
  skipHostSysctls?: boolean;
  /** Longest a takeover waits for the commit. Default 2000 ms. */
  commitBudgetMs?: number;
  resync?: ResyncWatchOptions & { pollMs?: number };
  statsPollMs?: number;
  /** Skew added while holding off preemption. Default 240 (CARP's maximum). */
  holdoffSkew?: number;
}

export interface DataplaneStatus {
  firewall: {
    enabled: boolean;
    loaded: boolean;
    appliedAt: string | null;
    /** Lines of the loaded ruleset. */
    lines: number | null;
    lastError: { at: string; message: string } | null;
  };
  sysctls: { applied: number; skipped: number; failed: Array<{ key: string; error: string }> };
  stateSync:
    | ({ enabled: true; config: string; conntrackd: SupervisorStatus } & SyncDriverStatus)
    | { enabled: false; reason: string };
}

export class DataplaneService {
  readonly paths: ConntrackdPaths;
  readonly #o: DataplaneOptions;
  readonly #nft: NftOptions;
  #election: ElectionLink | undefined;
  readonly #demotions = new Map<string, number>();
  #site: Site | undefined;
  #supervisor: ConntrackdSupervisor | undefined;
  #driver: SyncDriver | undefined;
  #conf: string | null = null;
  readonly #vipStates = new Map<string, TransitionEvent['to']>();
  #firewall: DataplaneStatus['firewall'];
  #sysctls: DataplaneStatus['sysctls'] = { applied: 0, skipped: 0, failed: [] };
  #stateSyncOff = 'not started';

  constructor(opts: DataplaneOptions) {
    this.#o = opts;
    this.paths = conntrackdPaths(opts.runDir);
    this.#nft = { source: `nftables ruleset of ${opts.node}`, ...opts.nft };
    this.#firewall = { enabled: opts.firewall !== false, loaded: false, appliedAt: null, lines: null, lastError: null };
  }

  /** Sysctls, ruleset, conntrackd. Never throws for a failed step (see status()). */
  async start(site: Site): Promise<void> {
    this.#site = site;
    const plan = this.#plan(site);
    await this.#sysctlsApply(plan.sysctlsBefore);
    if (this.#firewall.enabled) {
      const err = await this.#rulesetApply(plan.ruleset);
      // A node without its firewall must not be the one forwarding: demoted until a ruleset loads.
      this.#demote(DEMOTION.firewall, err === undefined ? null : this.#o.holdoffSkew ?? 240);
    }
    await this.#sysctlsApply(plan.sysctlsAfter);
    await this.#conntrackdApply(plan).catch((e: unknown) => this.#o.log.error('state sync not started', { error: message(e) }));
  }

  /** Hook into the election; call before it starts. */
  attach(election: ElectionLink): void {
    this.#election = election;
    for (const [reason, amount] of this.#demotions) election.node.demotion.set(reason, amount);
    election.on('transition', (ev) => {
      this.#vipStates.set(ev.vip, ev.to);
      this.#driver?.transition(ev);
    });
    election.beforeMaster(() => this.#driver?.beforeMaster() ?? Promise.resolve());
  }

  /**
   * The firewall and conntrackd.conf as one ConfigSync service unit: check
   * with `nft -c`, apply with `nft -f` (one kernel transaction: a refused
   * ruleset leaves the running one), then conntrackd.conf (restart only
   * when it changed). Rollback is the transaction applying the previous
   * site's prepared unit.
   */
  unit(): ServiceUnit {
    return {
      name: 'firewall',
      prepare: (site) => {
        const plan = this.#plan(site);
        return {
          key: `${plan.ruleset}\n${plan.conntrackd ?? ''}`,
          check: async () => {
            if (!this.#firewall.enabled) return;
            const r = await checkRuleset(plan.ruleset, { ...this.#nft, isolated: false });
            if (!r.ok) {
              this.#recordError(r.message);
              throw new Error(r.message);
            }
          },
          apply: async () => {
            if (this.#firewall.enabled) {
              const err = await this.#rulesetApply(plan.ruleset);
              if (err !== undefined) throw new Error(err);
              this.#demote(DEMOTION.firewall, null);
            }
            this.#site = site;
            await this.#conntrackdApply(plan);
          },
        };
      },
    };
  }

  status(): DataplaneStatus {
    const driver = this.#driver;
    const supervisor = this.#supervisor;
    return {
      firewall: { ...this.#firewall },
      sysctls: { ...this.#sysctls, failed: [...this.#sysctls.failed] },
      stateSync:
        driver !== undefined && supervisor !== undefined
          ? { enabled: true, config: this.paths.conf, conntrackd: supervisor.status(), ...driver.status() }
          : { enabled: false, reason: this.#stateSyncOff },
    };
  }

  /** Stop conntrackd; the ruleset and sysctls stay (a firewall stays closed). */
  async stop(): Promise<void> {
    await this.#driver?.stop();
    await this.#supervisor?.stop();
  }

  /** The conntrackd client against this node's daemon. */
  conntrackd(args: readonly string[]) {
    return runConntrackd(args, this.paths.socket, { ...(this.#o.conntrackdBin ? { bin: this.#o.conntrackdBin } : {}) });
  }

  // ------------------------------------------------------------------ steps

  #plan(site: Site): DataplanePlan {
    return planDataplane(site, this.#o.node, {
      paths: this.paths,
      ...(this.#o.conntrackMax === undefined ? {} : { conntrackMax: this.#o.conntrackMax }),
      ...(this.#o.transport === undefined ? {} : { stateSync: this.#o.transport }),
    });
  }

  async #sysctlsApply(list: readonly Sysctl[]): Promise<void> {
    const skipHostScope = this.#o.skipHostSysctls ?? !inInitialNetns();
    for (const r of await applySysctls(list, { skipHostScope })) {
      if (r.skipped !== undefined) this.#sysctls.skipped++;
      else if (r.ok) this.#sysctls.applied++;
      else {
        this.#sysctls.failed.push({ key: sysctlKey(r.sysctl), error: r.error ?? 'failed' });
        this.#o.log.warn('sysctl not set', { key: sysctlKey(r.sysctl), value: r.sysctl.value, error: r.error });
      }
    }
  }

  /** Loads the ruleset; returns nft's message when it was refused (the old ruleset stays). */
  async #rulesetApply(text: string): Promise<string | undefined> {
    const r = await applyRuleset(text, this.#nft);
    if (!r.applied) {
      this.#recordError(r.message);
      this.#o.log.error('firewall ruleset refused; the loaded one stays', { stage: r.stage, error: r.message.split('\n')[0] });
      return r.message;
    }
    this.#firewall = { ...this.#firewall, loaded: true, appliedAt: new Date().toISOString(), lines: text.split('\n').length };
    this.#o.log.info('firewall ruleset loaded', { lines: this.#firewall.lines ?? undefined });
    return undefined;
  }

  #recordError(msg: string): void {
    this.#firewall = { ...this.#firewall, lastError: { at: new Date().toISOString(), message: msg } };
  }

  /** Writes conntrackd.conf and (re)starts conntrackd when it changed; stops it when state sync is off. */
  async #conntrackdApply(plan: DataplanePlan): Promise<void> {
    if (this.#o.stateSync === false || plan.conntrackd === null) {
      this.#stateSyncOff = this.#o.stateSync === false ? 'turned off for this carpd' : 'state_sync = no in the site';
      await this.#stopStateSync();
      return;
    }
    if (plan.conntrackd === this.#conf && this.#supervisor !== undefined) return;
    await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.paths.conf, plan.conntrackd, { mode: 0o600 });
    this.#conf = plan.conntrackd;
    if (this.#supervisor !== undefined) {
      this.#o.log.info('conntrackd.conf changed; restarting conntrackd');
      await this.#supervisor.restart();
      return;
    }
    const peer = plan.transport?.peers[0];
    const driver = new SyncDriver({
      log: this.#o.log,
      conntrackd: (args) => this.conntrackd(args),
      holdoff: {
        hold: () => this.#demote(DEMOTION.stateSync, this.#o.holdoffSkew ?? 240),
        release: () => this.#demote(DEMOTION.stateSync, null),
      },
      ...(peer === undefined ? {} : { peer }),
      ...(this.#o.commitBudgetMs === undefined ? {} : { commitBudgetMs: this.#o.commitBudgetMs }),
      ...(this.#o.resync === undefined ? {} : { resync: this.#o.resync }),
      ...(this.#o.statsPollMs === undefined ? {} : { statsPollMs: this.#o.statsPollMs }),
    });
    const supervisor = new ConntrackdSupervisor({ paths: this.paths, log: this.#o.log, ...(this.#o.conntrackdBin ? { bin: this.#o.conntrackdBin } : {}) });
    this.#driver = driver;
    this.#supervisor = supervisor;
    // The node has no table yet: no preemption until the peer's has arrived.
    driver.holdUntilResynced('startup');
    // States seen before (state sync turned on by a config change): the driver starts from them.
    for (const [vip, to] of this.#vipStates) driver.transition({ vip, to });
    let first = true;
    supervisor.on('ready', () => {
      if (!first) driver.restarted();
      first = false;
    });
    driver.start();
    await supervisor.start();
  }

  async #stopStateSync(): Promise<void> {
    const driver = this.#driver;
    const supervisor = this.#supervisor;
    this.#driver = undefined;
    this.#supervisor = undefined;
    this.#conf = null;
    this.#demote(DEMOTION.stateSync, null);
    await driver?.stop();
    await supervisor?.stop();
  }

  /** Set (amount) or clear (null) one of our demotion reasons, now or when the election attaches. */
  #demote(reason: string, amount: number | null): void {
    if (amount === null) this.#demotions.delete(reason);
    else this.#demotions.set(reason, amount);
    const d = this.#election?.node.demotion;
    if (d === undefined) return;
    // Read live by every election (the rank of a BACKUP is computed per advert), so a
    // released holdoff lets the node preempt at the master's next advert.
    if (amount === null) d.clear(reason);
    else d.set(reason, amount);
  }
}

/**
 * False when carpd runs in a child network namespace (host-wide sysctls are
 * read-only there). When pid 1's namespace cannot be read, carpd is in a
 * container, where they are read-only too.
 */
function inInitialNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net');
  } catch {
    return false;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
