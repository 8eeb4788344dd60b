/**
 * <run-dir>/status.json: a small summary of what carpd runs, rewritten on
 * every VIP transition and checked once a second for other changes.
 *
 * Why a file: `carpd status` starts a Node process, which on a slow box
 * (one vCPU under QEMU TCG) costs the running agent its CPU for a moment;
 * polling it from a lab or a monitoring script can starve the election it
 * is watching. Reading this file costs a `cat`. The full status stays
 * behind `carpd status --json`.
 *
 * The summary is built by a pure function from the services' status views,
 * so its shape is unit-tested without a daemon.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CarpStatusView } from './carp/service.js';
import type { ConfigSyncStatus } from './configsync/config-sync.js';
import type { DataplaneStatus } from './dataplane/service.js';

export interface StatusSummary {
  node: string;
  role: string;
  pid: number;
  /** Active config revision. */
  revision: number;
  election: { running: boolean; enabled: boolean; maintenance: boolean; demotion: number; demotionReasons: Record<string, number> };
  /** holding: the VIP is on this node (a MASTER holds it once the takeover hooks and `ip` are done). */
  vips: Array<{ name: string; state: string; holding: boolean; lastTransition: { from: string; to: string; reason: string; at: string } | null }>;
  stateSync:
    | { enabled: true; role: string; peerReachable: boolean | null; internal: number | null; external: number | null; holdoff: boolean }
    | { enabled: false };
  configSync: {
    enabled: boolean;
    /** Per peer (on the primary): its last sync outcome. */
    peers: Array<{ name: string; lastSync: string | null; lastError: string | null; peerRevision: number | null }>;
    drift: boolean;
  };
  firewall: { enabled: boolean; loaded: boolean };
}

export interface SummaryInputs {
  node: string;
  role: string;
  revision: number;
  carp: CarpStatusView;
  sync: ConfigSyncStatus;
  dataplane: DataplaneStatus;
}

export function buildSummary(i: SummaryInputs): StatusSummary {
  const ss = i.dataplane.stateSync;
  return {
    node: i.node,
    role: i.role,
    pid: process.pid,
    revision: i.revision,
    election: {
      running: i.carp.running,
      enabled: i.carp.enabled,
      maintenance: i.carp.maintenance,
      demotion: i.carp.demotion.counter,
      demotionReasons: i.carp.demotion.reasons,
    },
    vips: i.carp.vips.map((v) => ({ name: v.name, state: v.state, holding: v.holding, lastTransition: v.lastTransition })),
    stateSync: ss.enabled
      ? { enabled: true, role: ss.role, peerReachable: ss.peer?.reachable ?? null, internal: ss.cache.internal, external: ss.cache.external, holdoff: ss.holdoff.active }
      : { enabled: false },
    configSync: {
      enabled: i.sync.enabled,
      peers: i.sync.peers.map((p) => ({
        name: p.node,
        lastSync: p.lastSuccessAt ?? null,
        lastError: p.lastError ?? null,
        peerRevision: p.peerRevision ?? null,
      })),
      drift: i.sync.drift.detected,
    },
    firewall: { enabled: i.dataplane.firewall.enabled, loaded: i.dataplane.firewall.loaded },
  };
}

/** Writes the summary atomically (tmp + rename) when it changed. */
export class SummaryWriter {
  readonly path: string;
  #last = '';
  #pending: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    runDir: string,
    private readonly build: () => StatusSummary,
    private readonly onError: (err: unknown) => void,
  ) {
    this.path = join(runDir, 'status.json');
  }

  /** Write now if anything changed (serialised: writes never interleave). */
  update(): Promise<void> {
    this.#pending = this.#pending.then(async () => {
      try {
        const text = JSON.stringify(this.build()) + '\n';
        if (text === this.#last) return;
        await writeFile(this.path + '.tmp', text, { mode: 0o644 });
        await rename(this.path + '.tmp', this.path);
        this.#last = text;
      } catch (err) {
        this.onError(err);
      }
    });
    return this.#pending;
  }

  start(everyMs = 1000): void {
    void this.update();
    this.#timer = setInterval(() => void this.update(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
