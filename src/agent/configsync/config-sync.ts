/**
 * Config sync on one node: the I/O shell around the pure pieces of this
 * folder. The daemon makes one, calls start(), routes the control commands
 * of control.ts to it and shows status() in `carpd status`.
 *
 *   primary:    applyLocal(text) -> validate, apply every service atomically,
 *               commit a revision, then push the synced areas to each peer
 *               (carpenter.replaceAreas over HTTPS, pinned, basic auth) and
 *               report each peer's answer.
 *   secondary:  serves the XML-RPC endpoint on its SYNC address; a push is
 *               checked (receive.ts), applied atomically (transaction.ts) and
 *               answered with the new revision or the exact error; edits to
 *               synced areas made here show as drift until the next push.
 *   both:       history / diff / rollback over the StateStore's revisions.
 *
 * Every config change (local apply, received push, rollback) runs under one
 * lock, so the store, the services and `active` always move together.
 */
import { performance } from 'node:perf_hooks';
import { ConfigErrors } from '../../config/errors.js';
import { siteToIni } from '../../config/serialize.js';
import { parseSite } from '../../config/site.js';
import { SYNC_AREAS, type NodeDef, type Site, type SyncArea } from '../../config/types.js';
import { StateStore, type RevisionInfo } from '../store.js';
import { carpdVersion } from '../version.js';
import type { CallContext, Dispatcher } from '../xmlrpc/dispatch.js';
import { FAULT, XmlRpcFault } from '../xmlrpc/faults.js';
import { ensureTlsIdentity } from '../xmlrpc/identity.js';
import { newStruct, type XmlRpcStruct, type XmlRpcValue } from '../xmlrpc/value.js';
import { areaHashes, areaTexts, changedAreas, isSyncArea } from './areas.js';
import { Endpoint, type EndpointStatus } from './endpoint.js';
import { firewallUnit, type FirewallUnitOptions } from './firewall-unit.js';
import { diffRevisions, history, readRevision, NoSuchRevision, type HistoryEntry } from './history.js';
import { syncMethods, type SyncEndpoint } from './methods.js';
import { nodeAddressWarnings } from './peer-addresses.js';
import { Peers, type PushOutcome } from './peers.js';
import { CAPABILITIES, PROTOCOL_VERSION, type PushAnswer, type PushRequest } from './protocol.js';
import { planReceive } from './receive.js';
import { SyncStateFile, type PeerRecord, type ReceivedRecord, type SyncState } from './state.js';
import { syncAddresses } from './sync-addresses.js';
import { applyAtomically, describeFailure, type ServiceUnit, type Stage } from './transaction.js';
import type { ActiveSite, PeerPushResult, SyncLog } from './types.js';

export type { ActiveSite, PeerPushResult, SyncLog } from './types.js';
export { syncAddresses } from './sync-addresses.js';

export type ChangeCause = 'local' | 'sync' | 'rollback';

export interface ConfigSyncOptions {
  node: string;
  stateDir: string;
  log: SyncLog;
  /** The active config at start (config-source.ts loadActiveConfig). */
  active: ActiveSite;
  /** The nft firewall unit's options; false: this node's firewall is not config sync's job. */
  firewall?: FirewallUnitOptions | false;
  /** More services switched with each config, after the firewall (e.g. the election). */
  services?: ServiceUnit[];
  /** Told after a config became active, so the daemon can update its own view. */
  onActivated?: (active: ActiveSite, cause: ChangeCause) => void | Promise<void>;
  /** Revisions kept in the state dir. Default 20. */
  keepRevisions?: number;
  /** Default: carpdVersion(). */
  carpdVersion?: string;
  /** Apply every service for the active config at start. Default true. */
  applyOnStart?: boolean;
  /** On the primary, push once at start (a replaced secondary catches up). Default true. */
  pushOnStart?: boolean;
  /** How often the primary asks its peers for their status (revision, drift). Default 30 s; 0: never. */
  peerRefreshMs?: number;
  /** Per call to a peer. Default 30 s. */
  callTimeoutMs?: number;
  /** Serve the XML-RPC endpoint. Default true; unit tests drive `methods` directly instead. */
  serve?: boolean;
}

export interface ApplyRequest {
  text: string;
  /** Name used in validation messages. Default site.ini. */
  file?: string;
  by?: string;
  from?: string;
  note?: string;
  /** Push to the peers afterwards (primary only). Default true. */
  push?: boolean;
  /** Push even to a peer running another carpd version. */
  force?: boolean;
}

export type ApplyOutcome =
  | {
      ok: true;
      revision: number;
      changed: boolean;
      applied: string[];
      peers: PeerPushResult[];
      warnings: string[];
      /** When the revision was committed here, ms since the epoch (sub-ms precision), for latency measurements. */
      committedAt?: number;
    }
  | { ok: false; stage: 'validate' | Stage; error: string; problems?: string[] };

export interface ConfigSyncStatus {
  node: string;
  role: string;
  enabled: boolean;
  carpdVersion: string;
  protocol: number;
  revision: number;
  areas: SyncArea[];
  lastChange: { by: string; from: string; at?: string };
  endpoint: EndpointStatus;
  /** The last push this node accepted (secondaries). */
  received?: ReceivedRecord;
  /** Synced areas edited here since the last push (secondaries). */
  drift: { detected: boolean; areas: SyncArea[] };
  /** Each peer as this node pushes to it (primary). */
  peers: PeerRecord[];
  lastApplyError?: string;
}

export class ConfigSync implements SyncEndpoint {
  private active: ActiveSite;
  private lastChange: { by: string; from: string; at?: string } = { by: 'carpd', from: 'start' };
  private state: SyncState = { pins: {}, peers: {} };
  private readonly stateFile: SyncStateFile;
  readonly store: StateStore;
  private readonly units: ServiceUnit[];
  private readonly version: string;
  private readonly dispatcher: Dispatcher;
  private readonly peers: Peers;
  private endpoint: Endpoint | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private lastApplyError: string | undefined;

  constructor(private readonly opts: ConfigSyncOptions) {
    this.active = opts.active;
    this.store = new StateStore(opts.stateDir);
    this.stateFile = SyncStateFile.in(opts.stateDir);
    this.version = opts.carpdVersion ?? carpdVersion();
    this.units = [...(opts.firewall === false ? [] : [firewallUnit(opts.node, opts.firewall ?? {})]), ...(opts.services ?? [])];
    this.dispatcher = syncMethods(this);
    this.peers = new Peers({
      node: opts.node,
      carpdVersion: this.version,
      log: opts.log,
      ...(opts.callTimeoutMs === undefined ? {} : { callTimeoutMs: opts.callTimeoutMs }),
      active: () => this.active,
      changedBy: () => this.lastChange.by,
      state: () => this.state,
      save: () => this.stateFile.save(this.state),
    });
  }

  get node(): string {
    return this.opts.node;
  }

  get site(): Site {
    return this.active.site;
  }

  get revision(): number {
    return this.active.revision;
  }

  private get self(): NodeDef | undefined {
    return this.active.site.nodes.find((n) => n.name === this.opts.node);
  }

  get isPrimary(): boolean {
    return this.self?.role === 'primary';
  }

  /** The XML-RPC method table (for tests and for serving it elsewhere). */
  get methods(): Dispatcher {
    return this.dispatcher;
  }

  async start(): Promise<void> {
    const site = this.active.site;
    const identity = await ensureTlsIdentity(this.opts.stateDir, {
      commonName: `carpd ${this.opts.node} (cluster ${site.cluster.name})`,
      altNames: [...syncAddresses(site, this.opts.node), this.opts.node],
      warn: (m) => this.opts.log.warn(m),
    });
    if (identity.created) this.opts.log.info('xml-rpc certificate created', { fingerprint: identity.fingerprint });
    if (this.opts.serve !== false) this.endpoint = new Endpoint(this.opts.node, identity, this.dispatcher, this.opts.log);
    this.state = await this.stateFile.load();
    const last = (await this.store.revisions()).at(-1);
    if (last !== undefined) this.lastChange = { by: last.by, from: last.from, at: last.at };
    if (this.opts.applyOnStart ?? true) {
      const tx = await applyAtomically(this.units, site, undefined);
      if (tx.ok) this.opts.log.info('services applied', { revision: this.active.revision, services: tx.applied.join(',') || 'none' });
      else {
        this.lastApplyError = describeFailure(tx);
        this.opts.log.error('services not applied at start', { reason: this.lastApplyError });
      }
    }
    await this.endpoint?.reconcile(site);
    if (this.isPrimary && (this.opts.pushOnStart ?? true)) void this.pushToPeers();
    const every = this.opts.peerRefreshMs ?? 30_000;
    if (every > 0) {
      this.refreshTimer = setInterval(() => void this.refreshPeers(), every);
      this.refreshTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.peers.stop();
    await this.endpoint?.stop();
    await this.lock.catch(() => undefined);
  }

  // ---- changes ------------------------------------------------------------------------

  /** A config change on this node: validate, apply, commit; on the primary, push. (The daemon's onLocalChange.) */
  async applyLocal(req: ApplyRequest): Promise<ApplyOutcome> {
    const local = await this.exclusive(() => this.applyLocked(req));
    if (!local.outcome.ok) return local.outcome;
    const done = { ...local.outcome, committedAt: performance.timeOrigin + local.committedAt };
    if (!(req.push ?? true) || !this.isPrimary) return done;
    const results = await this.pushToPeers({ force: req.force ?? false });
    const peers = results.map(({ answeredAt, ...r }) => (r.ok ? { ...r, latencyMs: round(answeredAt - local.committedAt) } : r));
    return { ...done, peers };
  }

  /** Makes a kept revision the active config again (a new revision); on the primary the peers follow. */
  async rollback(revision: number, meta: { by?: string; force?: boolean } = {}): Promise<ApplyOutcome> {
    const text = await readRevision(this.store, revision);
    if (text === undefined) {
      const kept = (await this.store.revisions()).map((r) => r.revision);
      return { ok: false, stage: 'validate', error: new NoSuchRevision(revision, kept).message };
    }
    if (!this.isPrimary) this.opts.log.warn('rollback on a secondary: the synced areas will show drift until the next push', { revision });
    return this.applyLocal({ text, file: `revision ${revision}`, by: meta.by ?? 'rollback', from: `rollback to revision ${revision}`, note: `rollback to revision ${revision}`, force: meta.force ?? false });
  }

  private async applyLocked(req: ApplyRequest): Promise<{ outcome: ApplyOutcome; committedAt: number }> {
    const file = req.file ?? 'site.ini';
    let site: Site;
    try {
      site = parseSite(req.text, file);
      if (!site.nodes.some((n) => n.name === this.opts.node)) throw new Error(`${file}: no [node "${this.opts.node}"] section (nodes: ${site.nodes.map((n) => n.name).join(', ')})`);
    } catch (err) {
      const problems = err instanceof ConfigErrors ? err.errors.map((e) => e.message) : undefined;
      return { outcome: { ok: false, stage: 'validate', error: err instanceof Error ? err.message : String(err), ...(problems === undefined ? {} : { problems }) }, committedAt: 0 };
    }
    const warnings = this.isPrimary ? nodeAddressWarnings(site) : [];
    if (req.text === this.active.text) {
      return { outcome: { ok: true, revision: this.active.revision, changed: false, applied: [], peers: [], warnings }, committedAt: performance.now() };
    }
    const meta = { by: req.by ?? 'local', from: req.from ?? `local on ${this.opts.node}`, ...(req.note === undefined ? {} : { note: req.note }) };
    let info: RevisionInfo | undefined;
    const tx = await applyAtomically(this.units, site, this.active.site, async () => {
      info = await this.store.commitSite(req.text, meta, this.opts.keepRevisions ?? 20);
    });
    if (!tx.ok || info === undefined) {
      const error = tx.ok ? 'not committed' : describeFailure(tx);
      this.opts.log.warn('config change refused', { by: meta.by, reason: error.split('\n')[0] });
      return { outcome: { ok: false, stage: tx.ok ? 'commit' : tx.stage, error }, committedAt: 0 };
    }
    const committedAt = performance.now();
    await this.activate({ site, text: req.text, revision: info.revision, source: this.store.sitePath }, req.note?.startsWith('rollback') ? 'rollback' : 'local', info);
    this.opts.log.info('config applied', { revision: info.revision, by: meta.by, from: meta.from, services: tx.applied.join(',') || 'none' });
    return { outcome: { ok: true, revision: info.revision, changed: true, applied: tx.applied, peers: [], warnings }, committedAt };
  }

  /** carpenter.replaceAreas: a push from the primary. Throws the fault to answer with. */
  async receive(push: PushRequest, ctx: CallContext): Promise<PushAnswer> {
    return this.exclusive(async () => {
      const t0 = performance.now();
      let plan;
      try {
        plan = planReceive({ self: this.opts.node, site: this.active.site, carpdVersion: this.version, push, sourceAddress: ctx.remoteAddress });
      } catch (err) {
        this.opts.log.warn('push refused', { from: push.from, source: ctx.remoteAddress, revision: push.revision, reason: firstLine(err) });
        throw err;
      }
      const before = this.active.revision;
      let revision = before;
      const changed = plan.text !== siteToIni(this.active.site);
      if (changed) {
        let info: RevisionInfo | undefined;
        const meta = { by: push.by, from: `${push.from} (${ctx.remoteAddress}) revision ${push.revision}`, note: `config sync${push.force ? ' (forced)' : ''}: ${plan.areas.join(', ')}` };
        const tx = await applyAtomically(this.units, plan.site, this.active.site, async () => {
          info = await this.store.commitSite(plan.text, meta, this.opts.keepRevisions ?? 20);
        });
        if (!tx.ok || info === undefined) {
          const why = tx.ok ? 'not committed' : describeFailure(tx);
          this.opts.log.warn('push could not be applied', { from: push.from, revision: push.revision, stays: before, reason: why.split('\n')[0] });
          throw new XmlRpcFault(FAULT.applyFailed, `${this.opts.node} could not apply ${push.from}'s revision ${push.revision} and stays on its revision ${before}: ${why}`);
        }
        revision = info.revision;
        await this.activate({ site: plan.site, text: plan.text, revision, source: this.store.sitePath }, 'sync', info);
      }
      this.state.received = {
        at: new Date().toISOString(),
        from: push.from,
        by: push.by,
        peerRevision: push.revision,
        revision,
        carpdVersion: push.carpdVersion,
        forced: push.force,
        hashes: areaHashes(plan.site, plan.areas),
      };
      await this.stateFile.save(this.state);
      const applyMs = round(performance.now() - t0);
      this.opts.log.info('config received', { from: push.from, peerRevision: push.revision, revision, changed, ms: applyMs, ...(plan.warnings.length > 0 ? { warning: plan.warnings.join('; ') } : {}) });
      return { node: this.opts.node, revision, changed, carpdVersion: this.version, applyMs, warnings: plan.warnings };
    });
  }

  private async activate(next: ActiveSite, cause: ChangeCause, info: RevisionInfo): Promise<void> {
    this.active = next;
    this.lastChange = { by: info.by, from: info.from, at: info.at };
    this.lastApplyError = undefined;
    try {
      await this.opts.onActivated?.(next, cause);
    } catch (err) {
      this.opts.log.error('onActivated hook failed', { reason: firstLine(err) });
    }
    await this.endpoint?.reconcile(next.site);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  // ---- pushing (primary): peers.ts ---------------------------------------------------

  /** The nodes this one pushes to: every other node, when it is the primary and config_sync is on. */
  peerNames(): string[] {
    return this.peers.names();
  }

  /** Pushes the current config to every peer now; resolves with each peer's outcome. */
  pushToPeers(opts: { force?: boolean } = {}): Promise<PushOutcome[]> {
    return this.peers.push(opts);
  }

  /** Asks each peer for its status (revision, drift, version) for `carpd status`. */
  refreshPeers(): Promise<void> {
    return this.peers.refresh();
  }

  /** `carpd sync trust PEER FINGERPRINT`: the admin's explicit acceptance of a peer's certificate. */
  trust(peer: string, fingerprint: string): Promise<string> {
    return this.peers.trust(peer, fingerprint);
  }

  // ---- reading ------------------------------------------------------------------------

  status(): ConfigSyncStatus {
    const site = this.active.site;
    const received = this.state.received;
    const drift = received === undefined ? [] : changedAreas(site, received.hashes);
    return {
      node: this.opts.node,
      role: this.self?.role ?? 'unknown',
      enabled: site.sync.configSync,
      carpdVersion: this.version,
      protocol: PROTOCOL_VERSION,
      revision: this.active.revision,
      areas: [...site.sync.areas],
      lastChange: this.lastChange,
      endpoint: this.endpoint?.status() ?? { listening: [] },
      ...(received === undefined ? {} : { received }),
      drift: { detected: drift.length > 0, areas: drift },
      peers: this.peers.records(),
      ...(this.lastApplyError === undefined ? {} : { lastApplyError: this.lastApplyError }),
    };
  }

  async history(): Promise<HistoryEntry[]> {
    return history(this.store, this.active.revision);
  }

  /** Diff from revision `from` to `to` (default: the active revision); canonical unless raw. */
  async diff(from: number, to?: number, opts: { raw?: boolean } = {}): Promise<string> {
    return diffRevisions(this.store, from, to ?? this.active.revision, opts);
  }

  versionInfo(): XmlRpcStruct {
    const site = this.active.site;
    return {
      carpd: this.version,
      protocol: PROTOCOL_VERSION,
      node: this.opts.node,
      role: this.self?.role ?? 'unknown',
      cluster: site.cluster.name,
      capabilities: [...CAPABILITIES],
      areas: [...site.sync.areas],
    };
  }

  statusInfo(): XmlRpcStruct {
    const s = this.status();
    const out: XmlRpcStruct = {
      node: s.node,
      role: s.role,
      cluster: this.active.site.cluster.name,
      carpdVersion: s.carpdVersion,
      protocol: s.protocol,
      revision: s.revision,
      areas: s.areas,
      lastChange: { ...s.lastChange },
      drift: { detected: s.drift.detected, areas: s.drift.areas },
      peers: s.peers.map((p) => toStruct(p)),
    };
    if (s.received !== undefined) {
      const { hashes: _hashes, ...rest } = s.received;
      out.received = toStruct(rest);
    }
    return out;
  }

  readAreas(names: string[]): XmlRpcStruct {
    const site = this.active.site;
    const wanted = names.length === 0 ? site.sync.areas : names;
    for (const n of wanted) {
      if (!isSyncArea(n)) throw new XmlRpcFault(FAULT.unknownArea, `unknown area "${n.slice(0, 64)}" (areas: ${SYNC_AREAS.join(', ')})`);
      if (!site.sync.areas.includes(n)) throw new XmlRpcFault(FAULT.unknownArea, `area ${n} is not synced on ${this.opts.node} ([sync] areas = ${site.sync.areas.join(', ') || 'none'})`);
    }
    const texts = areaTexts(site, wanted as SyncArea[]);
    const areas = newStruct();
    for (const [k, v] of Object.entries(texts)) areas[k] = v ?? '';
    return { node: this.opts.node, revision: this.active.revision, areas };
  }

  async historyInfo(): Promise<XmlRpcValue[]> {
    return (await this.history()).map((h) => toStruct(h));
  }
}

/** Plain JSON-ish record -> struct (undefined members dropped, nested arrays of strings kept). */
function toStruct(o: object): XmlRpcStruct {
  const s = newStruct();
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    s[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? toStruct(v as object) : (v as XmlRpcValue);
  }
  return s;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
