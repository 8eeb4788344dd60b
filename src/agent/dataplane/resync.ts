/**
 * When has a requested resync (`conntrackd -n`) arrived? Pure.
 *
 * conntrackd answers `-n` as soon as it has sent the request; the peer then
 * bulk-sends its table, and nothing marks the end of that stream (FTFW has
 * no "bulk done" message). What can be observed, through `conntrackd -s`, is
 * the external cache's size and the packets received on the sync link. So
 * the resync counts as complete when
 *
 *   - the peer was heard after the request (its packet counter grew: the
 *     bulk itself, or at least its once-a-second alive message, which it
 *     sends after processing our request), and
 *   - the external cache has not changed for `quietMs`.
 *
 * Measured on the rig: a 50,000-entry bulk arrives within ~10 ms of the
 * request, so a quiet window of 200 ms is far longer than any gap inside a
 * bulk. With no peer (it is down, or its conntrackd is) nothing is heard
 * and the watch gives up after `timeoutMs`.
 */
export interface ResyncSample {
  /** Entries in the external cache (the peer's states). */
  external: number;
  /** Packets received on the sync link so far. */
  packetsRecv: number;
}

export interface ResyncWatchOptions {
  /** The external cache must stay unchanged this long. Default 200 ms. */
  quietMs?: number;
  /** Give up after this long. Default 5 s. */
  timeoutMs?: number;
}

export type ResyncVerdict =
  | { state: 'pending' }
  | { state: 'done'; entries: number; /** Request to the last change of the external cache. */ durationMs: number }
  | { state: 'timeout'; entries: number; durationMs: number; peerHeard: boolean };

export class ResyncWatch {
  readonly quietMs: number;
  readonly timeoutMs: number;
  readonly #startedAt: number;
  #baseline: ResyncSample | undefined;
  #external = 0;
  #changedAt: number;
  #heard = false;

  /**
   * `baseline`: a sample taken just before the request. Without one (conntrackd
   * did not answer) the first sample fed becomes the baseline.
   */
  constructor(startedAt: number, baseline: ResyncSample | undefined, opts: ResyncWatchOptions = {}) {
    this.quietMs = opts.quietMs ?? 200;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.#startedAt = startedAt;
    this.#baseline = baseline;
    this.#external = baseline?.external ?? 0;
    this.#changedAt = startedAt;
  }

  /** Feed a sample (undefined: conntrackd did not answer) taken at `now`. */
  sample(s: ResyncSample | undefined, now: number): ResyncVerdict {
    if (s !== undefined && this.#baseline === undefined) {
      this.#baseline = s;
      this.#external = s.external;
    } else if (s !== undefined && this.#baseline !== undefined) {
      if (s.packetsRecv > this.#baseline.packetsRecv) this.#heard = true;
      if (s.external !== this.#external) {
        this.#external = s.external;
        this.#changedAt = now;
      }
    }
    const entries = this.#external;
    const durationMs = this.#changedAt - this.#startedAt;
    const quiet = now - this.#changedAt >= this.quietMs && now - this.#startedAt >= this.quietMs;
    if (this.#heard && quiet) return { state: 'done', entries, durationMs };
    if (now - this.#startedAt >= this.timeoutMs) return { state: 'timeout', entries, durationMs, peerHeard: this.#heard };
    return { state: 'pending' };
  }
}
