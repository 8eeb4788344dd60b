/**
 * The primary's side of config sync: one pinned HTTPS client per peer,
 * pushes (one at a time per peer, latest state wins), status polls, and the
 * record of each peer that `carpd status` shows.
 *
 * A peer that could not be reached (down, rebooting, cable out) is pushed to
 * again by itself, 5 s later, then 10, 20 ... up to 5 minutes apart, until
 * it takes the config. A peer that answered with a refusal (a fault: wrong
 * version, invalid config, apply failed; or a certificate or password
 * problem) is not: that needs the admin, and the next change or
 * `carpd sync push` tries again.
 */
import { performance } from 'node:perf_hooks';
import { HttpStatusError, PeerCertificateError, XmlRpcClient } from '../xmlrpc/client.js';
import { XmlRpcFault } from '../xmlrpc/faults.js';
import type { XmlRpcStruct } from '../xmlrpc/value.js';
import { normalizeFingerprint } from '../xmlrpc/x509.js';
import { areaTexts } from './areas.js';
import { Coalescer } from './coalesce.js';
import { nodeAddressWarnings } from './peer-addresses.js';
import { decidePin } from './pins.js';
import { METHODS, PROTOCOL_VERSION, decodeAnswer, encodePush } from './protocol.js';
import type { PeerRecord, SyncState } from './state.js';
import { syncAddresses } from './sync-addresses.js';
import type { ActiveSite, PeerPushResult, SyncLog } from './types.js';

export type PushOutcome = PeerPushResult & { answeredAt: number };

const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 300_000;

export interface PeersOptions {
  node: string;
  carpdVersion: string;
  log: SyncLog;
  callTimeoutMs?: number;
  /** The config to push, read when a push starts. */
  active(): ActiveSite;
  /** Who made the active config (sent as "by"). */
  changedBy(): string;
  /** The persistent state holding pins and peer records, and how to save it. */
  state(): SyncState;
  save(): Promise<void>;
}

export class Peers {
  private readonly pushers = new Map<string, Coalescer<PushOutcome>>();
  private readonly forced = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  /** The last retry delay per peer, doubled each time it is still unreachable. */
  private readonly backoff = new Map<string, number>();
  private stopped = false;

  constructor(private readonly o: PeersOptions) {}

  stop(): void {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
  }

  /** Every other node, when this one is the primary and config_sync is on. */
  names(): string[] {
    const site = this.o.active().site;
    const me = site.nodes.find((n) => n.name === this.o.node);
    if (me?.role !== 'primary' || !site.sync.configSync) return [];
    return site.nodes.filter((n) => n.name !== this.o.node).map((n) => n.name);
  }

  records(): PeerRecord[] {
    return this.names().map((p) => this.record(p));
  }

  /** Pushes the active config to every peer; resolves with each outcome. */
  push(opts: { force?: boolean } = {}): Promise<PushOutcome[]> {
    return Promise.all(
      this.names().map((peer) => {
        if (opts.force) this.forced.add(peer);
        return this.pushPeer(peer);
      }),
    );
  }

  private pushPeer(peer: string): Promise<PushOutcome> {
    let pusher = this.pushers.get(peer);
    if (pusher === undefined) {
      pusher = new Coalescer(() => this.pushOne(peer));
      this.pushers.set(peer, pusher);
    }
    return pusher.schedule();
  }

  private async pushOne(peer: string): Promise<PushOutcome> {
    const snapshot = this.o.active();
    const site = snapshot.site;
    const force = this.forced.delete(peer);
    const record = this.record(peer);
    record.lastAttemptAt = new Date().toISOString();
    const request = encodePush({
      revision: snapshot.revision,
      areas: areaTexts(site, site.sync.areas) as Record<string, string>,
      from: this.o.node,
      by: this.o.changedBy(),
      carpdVersion: this.o.carpdVersion,
      protocol: PROTOCOL_VERSION,
      force,
    });
    try {
      const answer = decodeAnswer(await this.client(peer).call(METHODS.replaceAreas, [request]));
      const answeredAt = performance.now();
      const warnings = [...answer.warnings, ...nodeAddressWarnings(site)];
      Object.assign(record, { lastSuccessAt: new Date().toISOString(), syncedRevision: snapshot.revision, peerRevision: answer.revision, peerVersion: answer.carpdVersion, warnings, drift: [] });
      delete record.lastError;
      delete record.lastErrorAt;
      this.cancelRetry(peer);
      await this.o.save();
      this.o.log.info('config synced', { peer, revision: snapshot.revision, peerRevision: answer.revision, changed: answer.changed, peerMs: answer.applyMs });
      return { node: peer, ok: true, revision: answer.revision, changed: answer.changed, applyMs: answer.applyMs, warnings, answeredAt };
    } catch (err) {
      const error = this.describe(peer, err);
      Object.assign(record, { lastError: error, lastErrorAt: new Date().toISOString() });
      await this.o.save();
      const retryMs = this.scheduleRetry(peer, err);
      this.o.log.warn('config sync failed', { peer, revision: snapshot.revision, reason: error.split('\n')[0], retryInSec: retryMs === undefined ? undefined : retryMs / 1000 });
      return { node: peer, ok: false, error, warnings: [], answeredAt: performance.now() };
    }
  }

  /** Unreachable (not refused): push again later, backing off. Returns the delay, if any. */
  private scheduleRetry(peer: string, err: unknown): number | undefined {
    const refused = err instanceof XmlRpcFault || err instanceof PeerCertificateError || (err instanceof HttpStatusError && err.status !== 429 && err.status < 500);
    if (refused || this.stopped) {
      this.cancelRetry(peer);
      return undefined;
    }
    const retryAfter = err instanceof HttpStatusError && err.retryAfterSec !== undefined ? err.retryAfterSec * 1000 : undefined;
    const previous = this.backoff.get(peer);
    const delayMs = retryAfter ?? Math.min(MAX_RETRY_MS, previous === undefined ? FIRST_RETRY_MS : previous * 2);
    this.backoff.set(peer, delayMs);
    clearTimeout(this.retryTimers.get(peer));
    const timer = setTimeout(() => {
      this.retryTimers.delete(peer);
      void this.pushPeer(peer);
    }, delayMs);
    timer.unref();
    this.retryTimers.set(peer, timer);
    return delayMs;
  }

  private cancelRetry(peer: string): void {
    clearTimeout(this.retryTimers.get(peer));
    this.retryTimers.delete(peer);
    this.backoff.delete(peer);
  }

  /** Asks each peer for its status (revision, drift, version). */
  async refresh(): Promise<void> {
    await Promise.all(
      this.names().map(async (peer) => {
        const record = this.record(peer);
        try {
          const s = (await this.client(peer).call(METHODS.status)) as XmlRpcStruct;
          const drift = s.drift as XmlRpcStruct | undefined;
          if (typeof s.revision === 'number') record.peerRevision = s.revision;
          if (typeof s.carpdVersion === 'string') record.peerVersion = s.carpdVersion;
          record.drift = Array.isArray(drift?.areas) ? drift.areas.filter((a): a is string => typeof a === 'string') : [];
          record.lastSeenAt = new Date().toISOString();
          delete record.statusError;
        } catch (err) {
          record.statusError = this.describe(peer, err);
        }
      }),
    );
    await this.o.save();
  }

  /** The admin's explicit acceptance of a peer's certificate. */
  async trust(peer: string, fingerprint: string): Promise<string> {
    if (!this.o.active().site.nodes.some((n) => n.name === peer && n.name !== this.o.node)) throw new Error(`no peer "${peer}" in the site`);
    const fp = normalizeFingerprint(fingerprint);
    if (fp === undefined) throw new Error(`"${fingerprint}" is not a SHA-256 fingerprint (AB:CD:..., 32 pairs)`);
    this.o.state().pins[peer] = { fingerprint: fp, at: new Date().toISOString(), how: 'trust' };
    await this.o.save();
    this.o.log.warn('peer certificate trusted by the admin', { peer, fingerprint: fp });
    return fp;
  }

  private record(peer: string): PeerRecord {
    const address = syncAddresses(this.o.active().site, peer)[0] ?? '';
    const r = (this.o.state().peers[peer] ??= { node: peer, address });
    r.address = address;
    return r;
  }

  private client(peer: string): XmlRpcClient {
    const site = this.o.active().site;
    const address = syncAddresses(site, peer)[0];
    if (address === undefined) throw new Error(`${peer} has no address on ${site.sync.interface}`);
    const family = (a: string) => (a.includes(':') ? 6 : 4);
    const local = syncAddresses(site, this.o.node).find((a) => family(a) === family(address));
    return new XmlRpcClient({
      host: address,
      port: site.sync.port,
      credentials: { user: site.sync.username, password: site.sync.password ?? '' },
      ...(local === undefined ? {} : { localAddress: local }),
      timeoutMs: this.o.callTimeoutMs ?? 30_000,
      verifyPeer: (fingerprint) => this.verify(peer, fingerprint),
    });
  }

  /** Runs after the TLS handshake, before the request (and its password) is sent. */
  private async verify(peer: string, offered: string): Promise<void> {
    const site = this.o.active().site;
    const state = this.o.state();
    const configured = site.nodes.find((n) => n.name === peer)?.fingerprint;
    const decision = decidePin({
      peer,
      offered,
      ...(configured === undefined ? {} : { configured }),
      ...(state.pins[peer] === undefined ? {} : { stored: state.pins[peer] }),
      tofu: site.sync.tofu !== false,
      now: new Date(),
    });
    if (!decision.accept) throw new PeerCertificateError(decision.message, offered);
    if (decision.pin !== undefined) {
      state.pins[peer] = decision.pin;
      await this.o.save();
      this.o.log.warn(decision.log ?? `pinned ${peer}'s certificate`, { peer, fingerprint: decision.pin.fingerprint });
    }
  }

  /** One line (or a few) that tells the admin what went wrong and what to do. */
  private describe(peer: string, err: unknown): string {
    const site = this.o.active().site;
    const target = `${peer} (${syncAddresses(site, peer)[0] ?? '?'}:${site.sync.port})`;
    if (err instanceof XmlRpcFault) return `${target} refused: ${err.message}`;
    if (err instanceof PeerCertificateError) return `${target}: ${err.message}`;
    if (err instanceof HttpStatusError) {
      if (err.status === 401) return `${target}: wrong user or password (HTTP 401): [sync] username/password must match on both nodes`;
      if (err.status === 429) return `${target}: too many failed logins from this node, retry in ${err.retryAfterSec ?? '?'} s (HTTP 429)`;
      return `${target}: ${err.message}`;
    }
    const code = (err as NodeJS.ErrnoException).code;
    return `${target} unreachable: ${err instanceof Error ? err.message : String(err)}${code === 'ECONNREFUSED' ? ' (is carpd running there, with config_sync = yes?)' : ''}`;
  }
}
