/** Types shared by the config-sync shell's modules. */
import type { Site } from '../../config/types.js';
import type { Fields } from '../log.js';

/** What config sync logs through (carpd's Logger fits). */
export interface SyncLog {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/** The config in force (the daemon's ActiveConfig has the same fields). */
export interface ActiveSite {
  site: Site;
  text: string;
  revision: number;
  source?: string;
}

/** One peer's outcome of a push. */
export interface PeerPushResult {
  node: string;
  ok: boolean;
  /** The peer's revision after the push. */
  revision?: number;
  changed?: boolean;
  /** From this node's commit to the peer's answer (the config is active there when it answers). */
  latencyMs?: number;
  /** What the peer spent applying. */
  applyMs?: number;
  error?: string;
  warnings: string[];
}
