/**
 * Drives conntrackd from the election, the way keepalived's primary-backup.sh
 * does (statesync/driver.ts has the steps), plus what a script cannot do:
 *
 *   - The commit gates the takeover. carpd's before-master hook awaits
 *     `beforeMaster()`, which resolves once `conntrackd -c` has put the
 *     peer's states into the kernel (or after `commitBudgetMs`): the VIP
 *     and the first advert as MASTER come after it, so the first packet of
 *     every synced session finds its state, NAT mapping included. Measured:
 *     ~120,000 entries/s, so 10,000 states hold the takeover ~85 ms. While
 *     it runs carpd's event loop is free (the commit is a child process):
 *     other VIPs' adverts and `carpd status` go on; only the VIPs being
 *     taken over wait, and they all share the one commit. (conntrackd runs
 *     at real-time priority, so on 2 cores carpd still slows down: status
 *     answered in up to 40-160 ms during a 50,000-state commit.) The rest
 *     of the promotion (-f -R -B) waits `announceGraceMs` more, so that it
 *     does not delay the announcement either.
 *   - Preemption waits for the table. Whenever the node is not master
 *     (start, demotion, links back), it asks the peer for a full resync
 *     (`-n`) and holds a demotion in the election ("holdoff") until the
 *     table has arrived (resync.ts) or `resync.timeoutMs` passed, so a
 *     returning primary cannot preempt a secondary whose sessions it does
 *     not know yet.
 *
 * conntrackd keeps one table per node, so the node's role is what matters
 * (StateSyncTracker: master as soon as it is MASTER of any VIP). VIPs of a
 * node move together (the election's node-wide demotion); a node that is
 * master of some VIPs and backup of others has one table for both, as with
 * keepalived.
 *
 * The effects are injected (a conntrackd client function, the holdoff), so
 * unit tests drive this with fakes and a fake clock is not needed: the only
 * timers are the stats polls.
 */
import { performance } from 'node:perf_hooks';
import type { SyncLog } from '../configsync/types.js';
import type { State } from '../proto/election.js';
import {
  PeerLiveness,
  StateSyncTracker,
  parseConntrackdStats,
  splitAtAnnounce,
  transitionSteps,
  type ConntrackdResult,
  type ConntrackdStats,
  type ConntrackdStep,
  type LinkStats,
  type NodeSyncRole,
  type StateSyncTransition,
} from '../statesync/index.js';
import { ResyncWatch, type ResyncSample, type ResyncWatchOptions } from './resync.js';
import { Serial, isSkipped } from './serial.js';

/** The election's side of the holdoff: a demotion reason set and cleared. */
export interface Holdoff {
  hold(): void;
  release(): void;
}

export interface SyncDriverOptions {
  log: SyncLog;
  /** One conntrackd client command against this node's daemon. */
  conntrackd: (args: readonly string[]) => Promise<ConntrackdResult>;
  holdoff?: Holdoff;
  /** Longest a takeover waits for the commit. Default 2000 ms (~200,000 states); then it goes ahead, warned. */
  commitBudgetMs?: number;
  /**
   * After the commit, time left to the takeover (VIPs up, first adverts)
   * before -f -R -B run. Default 150 ms. Measured (state-sync bench, 50,000
   * states, 2 cores): -R alone keeps conntrackd busy ~230 ms at real-time
   * priority; run at once, the steps delayed the first advert by up to
   * 200 ms after the commit (median ~25 ms); after 150 ms, by 7-19 ms.
   */
  announceGraceMs?: number;
  /** When a requested resync counts as arrived (resync.ts), and how often to look. Default poll 50 ms. */
  resync?: ResyncWatchOptions & { pollMs?: number };
  /** `conntrackd -s` for status and peer liveness. Default every 1000 ms; 0: only on demand. */
  statsPollMs?: number;
  peer?: { name: string; address: string };
  now?: () => number;
}

export interface StepRecord {
  args: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface PromotionRecord {
  at: string;
  /** From the takeover decision (the transition) to the committed table. */
  decisionToCommitMs: number | null;
  /** The `conntrackd -c` alone. */
  commitMs: number | null;
  /** Entries in the external cache when the commit finished (what it committed). */
  committed: number | null;
  /** The takeover went ahead before the commit finished. */
  budgetExceeded: boolean;
  ok: boolean;
  error?: string;
}

export interface ResyncRecord {
  at: string;
  why: StateSyncTransition | 'restart';
  outcome: 'done' | 'timeout' | 'superseded';
  /** Request to the last change of the external cache. */
  durationMs: number;
  /** Entries in the external cache at the end. */
  entries: number;
  peerHeard: boolean;
}

export interface SyncDriverStatus {
  role: NodeSyncRole | 'starting';
  peer: { name: string; address: string; reachable: boolean | null; lastHeardAgoMs: number | null } | null;
  cache: { internal: number | null; external: number | null; sampledAt: string | null };
  link: LinkStats | null;
  messages: { lost: number; malformed: number } | null;
  holdoff: { active: boolean; since: string | null; why: string | null };
  lastTransition: { to: StateSyncTransition; at: string; steps: StepRecord[] } | null;
  lastResync: ResyncRecord | null;
  lastPromotion: PromotionRecord | null;
  errors: { count: number; recent: Array<{ at: string; message: string }> };
}

interface ActiveWatch {
  w: ResyncWatch;
  why: ResyncRecord['why'];
  timer: NodeJS.Timeout | undefined;
}

const COMMIT: ConntrackdStep = transitionSteps('master')[0] as ConntrackdStep;
const KEEP_ERRORS = 10;

export class SyncDriver {
  readonly #o: SyncDriverOptions;
  readonly #now: () => number;
  readonly #tracker = new StateSyncTracker();
  readonly #states = new Map<string, State>();
  readonly #serial = new Serial();
  readonly #liveness = new PeerLiveness(3000);
  #commit: Promise<void> | undefined;
  #stats: ConntrackdStats | undefined;
  #statsAt: number | undefined;
  #watch: ActiveWatch | undefined;
  #holding: { since: number; why: string } | undefined;
  #lastTransition: SyncDriverStatus['lastTransition'] = null;
  #lastResync: ResyncRecord | null = null;
  #lastPromotion: PromotionRecord | null = null;
  #errors: Array<{ at: string; message: string }> = [];
  #errorCount = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #origin: number;

  constructor(opts: SyncDriverOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#origin = Date.now() - this.#now();
  }

  /** Start polling stats (status, peer liveness). */
  start(): void {
    const every = this.#o.statsPollMs ?? 1000;
    if (every <= 0) return;
    const tick = () => {
      void this.sample().finally(() => {
        if (!this.#stopped) this.#pollTimer = setTimeout(tick, every);
      });
    };
    tick();
  }

  /** Stop polling and wait (bounded) for the running command. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    if (this.#watch) clearTimeout(this.#watch.timer);
    this.#serial.dropPending();
    await Promise.race([this.#serial.idle(), new Promise((r) => setTimeout(r, 3000))]);
  }

  get role(): NodeSyncRole | undefined {
    return this.#tracker.role;
  }

  /** Hold off preemption now (before the election starts: the node has no table yet). */
  holdUntilResynced(why = 'startup'): void {
    this.#hold(why);
  }

  /** Every election state change of every VIP. */
  transition(ev: { vip: string; to: State }): void {
    this.#states.set(ev.vip, ev.to);
    const t = this.#tracker.update([...this.#states.values()]);
    if (t !== undefined) this.#drive(t);
  }

  /**
   * The before-master hook: resolves when the promotion's commit is done
   * (or after the budget). A takeover of a node that is master already
   * shares nothing and waits for nothing.
   */
  async beforeMaster(): Promise<void> {
    const commit = this.#commit;
    if (commit === undefined) return;
    const budget = this.#o.commitBudgetMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([commit.then(() => 'done' as const), new Promise<'budget'>((res) => (timer = setTimeout(() => res('budget'), budget)))]);
    clearTimeout(timer);
    if (r === 'budget') {
      if (this.#lastPromotion) this.#lastPromotion.budgetExceeded = true;
      this.#o.log.warn('state sync: the commit takes longer than the takeover may wait; taking over, the commit goes on', { budgetMs: budget });
    }
  }

  /** conntrackd was restarted (crash, new config): bring the new daemon up to date. */
  restarted(): void {
    const role = this.#tracker.role;
    if (role === 'master') void this.#serial.push(() => this.#step({ args: ['-B'], what: 'bulk-send our states to the backups', beforeAnnounce: false }));
    else if (role !== undefined) this.#requestResync('restart');
  }

  // ------------------------------------------------------------ transitions

  #drive(t: StateSyncTransition): void {
    const at = this.#now();
    const record: NonNullable<SyncDriverStatus['lastTransition']> = { to: t, at: this.#iso(at), steps: [] };
    this.#lastTransition = record;
    this.#o.log.info('state sync: node is now ' + (t === 'startup' ? 'starting (backup)' : t), { steps: transitionSteps(t).map((s) => s.args.join(' ')).join(', ') });
    if (t === 'master') {
      // Whatever a demotion had queued (-t, -n) is moot now, and must not delay the commit.
      this.#serial.dropPending();
      this.#endWatch('superseded');
      this.#release();
      const { after } = splitAtAnnounce(transitionSteps('master'));
      this.#commit = this.#runCommit(at, record).finally(() => (this.#commit = undefined));
      // The takeover itself goes first: -f -R -B keep conntrackd (real-time priority) busy too.
      const grace = this.#o.announceGraceMs ?? 150;
      if (grace > 0) void this.#serial.push(() => new Promise<void>((r) => setTimeout(r, grace)));
      for (const step of after) void this.#serial.push(() => this.#step(step, record));
      return;
    }
    this.#hold(t);
    this.#endWatch('superseded');
    for (const step of transitionSteps(t)) {
      if (step.args[0] === '-n') this.#requestResync(t, record, step);
      else void this.#serial.push(() => this.#step(step, record));
    }
  }

  /**
   * `conntrackd -c`, first in the queue. Resolves when the commit is done;
   * the same queue job then reads what was committed (the external cache
   * still holds it until the flush that follows), off the takeover's path.
   */
  #runCommit(decidedAt: number, record: { steps: StepRecord[] }): Promise<void> {
    const promotion: PromotionRecord = { at: this.#iso(decidedAt), decisionToCommitMs: null, commitMs: null, committed: null, budgetExceeded: false, ok: false };
    this.#lastPromotion = promotion;
    return new Promise<void>((committed) => {
      void this.#serial
        .push(async () => {
          const r = await this.#step(COMMIT, record);
          promotion.ok = r.ok;
          promotion.commitMs = round(r.durationMs);
          promotion.decisionToCommitMs = round(this.#now() - decidedAt);
          if (r.error !== undefined) promotion.error = r.error;
          committed();
          promotion.committed = (await this.sample())?.external?.active ?? null;
          this.#o.log.info('state sync: committed the peer\'s states before announcing', {
            entries: promotion.committed ?? undefined, commitMs: promotion.commitMs, fromDecisionMs: promotion.decisionToCommitMs, ok: promotion.ok,
          });
        })
        .finally(committed);
    });
  }

  #requestResync(why: ResyncRecord['why'], record?: { steps: StepRecord[] }, step: ConntrackdStep = transitionSteps('startup')[0] as ConntrackdStep): void {
    this.#hold(why);
    void this.#serial.push(async () => {
      const base = await this.sample();
      const startedAt = this.#now();
      const r = await this.#step(step, record);
      this.#watchResync(why, startedAt, base, r.ok);
      return r;
    });
  }

  #watchResync(why: ResyncRecord['why'], startedAt: number, base: ConntrackdStats | undefined, requested: boolean): void {
    if (this.#stopped || this.#tracker.role === 'master') return;
    this.#endWatch('superseded');
    const opts = this.#o.resync ?? {};
    const w = new ResyncWatch(startedAt, toSample(base), requested ? opts : { ...opts, timeoutMs: 0 });
    const watch: ActiveWatch = { w, why, timer: undefined };
    this.#watch = watch;
    const poll = async () => {
      if (this.#watch !== watch) return;
      const v = w.sample(toSample(await this.sample()), this.#now());
      if (this.#watch !== watch) return;
      if (v.state === 'pending') {
        watch.timer = setTimeout(() => void poll(), opts.pollMs ?? 50);
        return;
      }
      this.#watch = undefined;
      this.#lastResync = { at: this.#iso(startedAt), why, outcome: v.state, durationMs: round(v.durationMs), entries: v.entries, peerHeard: v.state === 'done' || v.peerHeard };
      if (v.state === 'done') this.#o.log.info('state sync: the peer\'s table has arrived', { entries: v.entries, ms: round(v.durationMs) });
      else this.#error(`no resync from the peer within ${w.timeoutMs} ms (${v.peerHeard ? 'its table kept changing' : 'peer not heard'}); preemption is allowed again`);
      this.#release();
    };
    void poll();
  }

  #endWatch(outcome: 'superseded'): void {
    const watch = this.#watch;
    if (watch === undefined) return;
    clearTimeout(watch.timer);
    this.#watch = undefined;
    this.#lastResync = { at: this.#iso(this.#now()), why: watch.why, outcome, durationMs: 0, entries: this.#stats?.external?.active ?? 0, peerHeard: false };
  }

  async #step(step: ConntrackdStep, record?: { steps: StepRecord[] }): Promise<ConntrackdResult> {
    const r = await this.#o.conntrackd(step.args);
    const rec: StepRecord = { args: step.args.join(' '), ok: r.ok, ms: round(r.durationMs) };
    if (r.error !== undefined) rec.error = r.error;
    record?.steps.push(rec);
    if (!r.ok) this.#error(`conntrackd ${rec.args} (${step.what}): ${r.error ?? 'failed'}`);
    return r;
  }

  // ----------------------------------------------------------------- holdoff

  #hold(why: string): void {
    if (this.#o.holdoff === undefined) return;
    if (this.#holding === undefined) {
      this.#o.holdoff.hold();
      this.#o.log.info('state sync: holding off preemption until the peer\'s table has arrived', { why });
    }
    this.#holding = { since: this.#holding?.since ?? this.#now(), why };
  }

  #release(): void {
    if (this.#holding === undefined) return;
    this.#holding = undefined;
    this.#o.holdoff?.release();
  }

  // ------------------------------------------------------------------ status

  /** Read `conntrackd -s` now (updates status and peer liveness); undefined when it did not answer. */
  async sample(): Promise<ConntrackdStats | undefined> {
    const r = await this.#o.conntrackd(['-s']);
    if (!r.ok) return undefined;
    try {
      const s = parseConntrackdStats(r.stdout);
      const now = this.#now();
      this.#stats = s;
      this.#statsAt = now;
      this.#liveness.sample(s, now);
      return s;
    } catch {
      return undefined;
    }
  }

  status(): SyncDriverStatus {
    const now = this.#now();
    const peer = this.#o.peer;
    return {
      role: this.#tracker.role ?? 'starting',
      peer: peer === undefined ? null : { ...peer, reachable: this.#liveness.reachable(now) ?? null, lastHeardAgoMs: roundOrNull(this.#liveness.lastHeardAgoMs(now)) },
      cache: {
        internal: this.#stats?.internal?.active ?? null,
        external: this.#stats?.external?.active ?? null,
        sampledAt: this.#statsAt === undefined ? null : this.#iso(this.#statsAt),
      },
      link: this.#stats?.link ?? null,
      messages: this.#stats?.messages ?? null,
      holdoff: { active: this.#holding !== undefined, since: this.#holding ? this.#iso(this.#holding.since) : null, why: this.#holding?.why ?? null },
      lastTransition: this.#lastTransition,
      lastResync: this.#lastResync,
      lastPromotion: this.#lastPromotion,
      errors: { count: this.#errorCount, recent: [...this.#errors] },
    };
  }

  #error(message: string): void {
    this.#errorCount++;
    this.#errors.push({ at: new Date().toISOString(), message });
    if (this.#errors.length > KEEP_ERRORS) this.#errors.shift();
    this.#o.log.warn('state sync: ' + message);
  }

  #iso(t: number): string {
    return new Date(Math.round(this.#origin + t)).toISOString();
  }
}

function toSample(s: ConntrackdStats | undefined): ResyncSample | undefined {
  if (s === undefined) return undefined;
  return { external: s.external?.active ?? 0, packetsRecv: s.link?.packetsRecv ?? 0 };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function roundOrNull(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms);
}
