/**
 * Config sync's own persistent state, next to carpd's (state dir, config
 * partition): what this node last received, pinned peer certificates, and
 * the primary's view of each peer. Its own file rather than a key in
 * state.json, so its writes never race the election's.
 *
 *   <stateDir>/configsync.json
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyncArea } from '../../config/types.js';
import { writeFileAtomic } from '../store.js';
import type { PinRecord } from './pins.js';

export interface ReceivedRecord {
  at: string;
  from: string;
  by: string;
  /** The sender's revision. */
  peerRevision: number;
  /** The revision it became here. */
  revision: number;
  carpdVersion: string;
  forced: boolean;
  /** Hash per synced area as received: drift = the active config's areas no longer hash the same. */
  hashes: Partial<Record<SyncArea, string>>;
}

/** The primary's record of one peer, shown by carpd status. */
export interface PeerRecord {
  node: string;
  address: string;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  /** Our revision in the last successful push. */
  syncedRevision?: number;
  /** The peer's revision after it (or from its status). */
  peerRevision?: number;
  peerVersion?: string;
  /** ms from our commit to the peer's answer, last push. */
  lastLatencyMs?: number;
  lastError?: string;
  lastErrorAt?: string;
  /** Areas the peer reports as drifted (from its status). */
  drift?: string[];
  /** Warnings the last push produced (forced version, node addresses in synced sections). */
  warnings?: string[];
  /** Last answer to carpenter.status, and the error when it failed. */
  lastSeenAt?: string;
  statusError?: string;
}

export interface SyncState {
  received?: ReceivedRecord;
  pins: Record<string, PinRecord>;
  peers: Record<string, PeerRecord>;
}

export class SyncStateFile {
  private writes: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  static in(stateDir: string): SyncStateFile {
    return new SyncStateFile(join(stateDir, 'configsync.json'));
  }

  async load(): Promise<SyncState> {
    try {
      const s = JSON.parse(await readFile(this.path, 'utf8')) as Partial<SyncState>;
      return { pins: s.pins ?? {}, peers: s.peers ?? {}, ...(s.received === undefined ? {} : { received: s.received }) };
    } catch {
      return { pins: {}, peers: {} };
    }
  }

  /** Writes a snapshot; writes are serialised so an older snapshot never lands after a newer one. */
  save(state: SyncState): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    this.writes = this.writes.catch(() => undefined).then(() => writeFileAtomic(this.path, text));
    return this.writes;
  }
}
