/**
 * Parsers for `conntrackd -s` (general statistics) and `conntrackd -s runtime`,
 * as printed by conntrackd 1.4.7, plus a sans-IO peer-liveness check, so that
 * `carpd status` can show: entries in the internal cache (our states) and the
 * external cache (the peer's), bytes/packets sent and received on the sync
 * link, send/receive errors, lost and malformed messages, netlink overruns,
 * and whether the peer is heard.
 *
 * General output (abridged):
 *
 *   cache internal:
 *   current active connections:	          21
 *   connections created:		          21	failed:	           0
 *   connections updated:		           0	failed:	           0
 *   connections destroyed:		           0	failed:	           0
 *   cache external: ...
 *   traffic processed:
 *                      0 Bytes                         0 Pckts
 *   UDP traffic (active device=SYNC):
 *                   1852 Bytes sent                   96 Bytes recv
 *                     27 Pckts sent                    6 Pckts recv
 *                      0 Error send                    0 Error recv
 *   message tracking:
 *                      0 Malformed msgs                    0 Lost msgs
 */

export interface CacheStats {
  active: number;
  created: number;
  createFailed: number;
  updated: number;
  updateFailed: number;
  destroyed: number;
  destroyFailed: number;
}

export interface LinkStats {
  /** "UDP", "Multicast" or "TCP". */
  transport: string;
  device: string;
  bytesSent: number;
  bytesRecv: number;
  packetsSent: number;
  packetsRecv: number;
  errorsSent: number;
  errorsRecv: number;
}

export interface ConntrackdStats {
  internal?: CacheStats;
  external?: CacheStats;
  traffic?: { bytes: number; packets: number };
  link?: LinkStats;
  messages?: { malformed: number; lost: number };
}

export interface ConntrackdRuntimeStats {
  uptimeMinutes?: number;
  eventsReceived?: number;
  eventsFiltered?: number;
  netlinkOverruns?: number;
  kernelResyncs?: number;
  bufferSize?: number;
}

export class StatsParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatsParseError';
  }
}

const NUM = '(\\d+)';

function num(text: string | undefined): number {
  return Number(text ?? 'NaN');
}

/** Parses the output of `conntrackd -s`; sections it does not find are left out. */
export function parseConntrackdStats(text: string): ConntrackdStats {
  const lines = text.split('\n');
  const stats: ConntrackdStats = {};
  let section: 'internal' | 'external' | 'traffic' | 'link' | 'messages' | undefined;
  let cache: CacheStats | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^cache (internal|external):$/.exec(line)) !== null) {
      section = m[1] === 'internal' ? 'internal' : 'external';
      cache = { active: 0, created: 0, createFailed: 0, updated: 0, updateFailed: 0, destroyed: 0, destroyFailed: 0 };
      stats[section] = cache;
      continue;
    }
    if (line === 'traffic processed:') {
      section = 'traffic';
      continue;
    }
    if ((m = /^(\S+) traffic \(active device=([^)]*)\):$/.exec(line)) !== null) {
      section = 'link';
      stats.link = { transport: m[1] ?? '', device: m[2] ?? '', bytesSent: 0, bytesRecv: 0, packetsSent: 0, packetsRecv: 0, errorsSent: 0, errorsRecv: 0 };
      continue;
    }
    if (line === 'message tracking:') {
      section = 'messages';
      continue;
    }
    if ((section === 'internal' || section === 'external') && cache !== undefined) {
      if ((m = new RegExp(`^current active connections:\\s+${NUM}$`).exec(line)) !== null) cache.active = num(m[1]);
      else if ((m = new RegExp(`^connections (created|updated|destroyed):\\s+${NUM}\\s+failed:\\s+${NUM}$`).exec(line)) !== null) {
        const n = num(m[2]);
        const failed = num(m[3]);
        if (m[1] === 'created') [cache.created, cache.createFailed] = [n, failed];
        else if (m[1] === 'updated') [cache.updated, cache.updateFailed] = [n, failed];
        else [cache.destroyed, cache.destroyFailed] = [n, failed];
      }
    } else if (section === 'traffic') {
      if ((m = new RegExp(`^${NUM} Bytes\\s+${NUM} Pckts$`).exec(line)) !== null) stats.traffic = { bytes: num(m[1]), packets: num(m[2]) };
    } else if (section === 'link' && stats.link !== undefined) {
      const l = stats.link;
      if ((m = new RegExp(`^${NUM} Bytes sent\\s+${NUM} Bytes recv$`).exec(line)) !== null) [l.bytesSent, l.bytesRecv] = [num(m[1]), num(m[2])];
      else if ((m = new RegExp(`^${NUM} Pckts sent\\s+${NUM} Pckts recv$`).exec(line)) !== null) [l.packetsSent, l.packetsRecv] = [num(m[1]), num(m[2])];
      else if ((m = new RegExp(`^${NUM} Error send\\s+${NUM} Error recv$`).exec(line)) !== null) [l.errorsSent, l.errorsRecv] = [num(m[1]), num(m[2])];
    } else if (section === 'messages') {
      if ((m = new RegExp(`^${NUM} Malformed msgs\\s+${NUM} Lost msgs$`).exec(line)) !== null) stats.messages = { malformed: num(m[1]), lost: num(m[2]) };
    }
  }
  if (stats.internal === undefined && stats.external === undefined && stats.link === undefined) {
    throw new StatsParseError(`not conntrackd -s output: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return stats;
}

/** Parses `conntrackd -s runtime`. */
export function parseConntrackdRuntime(text: string): ConntrackdRuntimeStats {
  const out: ConntrackdRuntimeStats = {};
  const pick = (re: RegExp): number | undefined => {
    const m = re.exec(text);
    return m === null ? undefined : num(m[1]);
  };
  const set = <K extends keyof ConntrackdRuntimeStats>(key: K, value: number | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('uptimeMinutes', pick(/daemon uptime:\s+(\d+) min/));
  set('eventsReceived', pick(/events received:\s+(\d+)/));
  set('eventsFiltered', pick(/events filtered:\s+(\d+)/));
  set('netlinkOverruns', pick(/netlink overrun:\s+(\d+)/));
  set('kernelResyncs', pick(/resync with kernel table:\s+(\d+)/));
  set('bufferSize', pick(/current buffer size \(in bytes\):\s+(\d+)/));
  if (Object.keys(out).length === 0) throw new StatsParseError(`not conntrackd -s runtime output: ${JSON.stringify(text.slice(0, 80))}`);
  return out;
}

// ---- peer liveness -----------------------------------------------------------------

/**
 * FTFW sends a small alive message every second even when idle (measured:
 * 16 bytes/s each way), so a peer is reachable when the packets we received
 * grew within the window. Feed `sample` with each `-s` reading and its time.
 */
export class PeerLiveness {
  #lastRecv: number | undefined;
  #firstAt: number | undefined;
  #lastChangeAt: number | undefined;

  constructor(readonly windowMs = 3000) {}

  sample(stats: ConntrackdStats, nowMs: number): void {
    const recv = stats.link?.packetsRecv;
    if (recv === undefined) return;
    if (this.#lastRecv === undefined) this.#firstAt = nowMs; // a baseline proves nothing yet
    else if (recv !== this.#lastRecv) this.#lastChangeAt = nowMs;
    this.#lastRecv = recv;
  }

  /** True when the peer was heard within the window, false when not, undefined while there is too little evidence. */
  reachable(nowMs: number): boolean | undefined {
    if (this.#firstAt === undefined) return undefined;
    if (this.#lastChangeAt !== undefined && nowMs - this.#lastChangeAt <= this.windowMs) return true;
    if (nowMs - this.#firstAt < this.windowMs) return undefined;
    return false;
  }

  /** Milliseconds since the peer was last heard, when it was heard since sampling began. */
  lastHeardAgoMs(nowMs: number): number | undefined {
    return this.#lastChangeAt === undefined ? undefined : nowMs - this.#lastChangeAt;
  }
}

/** A compact line for `carpd status`. */
export function summarizeStats(stats: ConntrackdStats, runtime?: ConntrackdRuntimeStats): string {
  const parts: string[] = [];
  if (stats.internal !== undefined) parts.push(`internal ${stats.internal.active}`);
  if (stats.external !== undefined) parts.push(`external ${stats.external.active}`);
  const l = stats.link;
  if (l !== undefined) {
    parts.push(`${l.transport} ${l.device}: sent ${l.packetsSent} pkts/${l.bytesSent} B, recv ${l.packetsRecv} pkts/${l.bytesRecv} B`);
    parts.push(`errors ${l.errorsSent} send/${l.errorsRecv} recv`);
  }
  if (stats.messages !== undefined && (stats.messages.lost > 0 || stats.messages.malformed > 0)) {
    parts.push(`lost ${stats.messages.lost}, malformed ${stats.messages.malformed}`);
  }
  if (runtime?.netlinkOverruns !== undefined && runtime.netlinkOverruns > 0) parts.push(`netlink overruns ${runtime.netlinkOverruns}`);
  return parts.join('; ');
}
