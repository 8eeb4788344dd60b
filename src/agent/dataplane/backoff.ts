/**
 * How long to wait before restarting a supervised process that exited.
 * Pure: the supervisor tells it how long the last run lasted and gets the
 * delay back.
 *
 * Doubling from `initialMs` up to `maxMs`, so a daemon that cannot start
 * (a broken config, a missing binary) is retried without spinning, while a
 * one-off crash is repaired almost at once. A run that lasted `stableMs` or
 * longer counts as healthy and resets the sequence: a crash once a day is
 * always restarted after `initialMs`.
 */
export interface BackoffOptions {
  /** Delay after the first failure. Default 250 ms. */
  initialMs?: number;
  /** Ceiling. Default 30 s. */
  maxMs?: number;
  /** A run at least this long resets the sequence. Default 60 s. */
  stableMs?: number;
}

export class RestartBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly stableMs: number;
  #failures = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 30_000;
    this.stableMs = opts.stableMs ?? 60_000;
  }

  /** Consecutive short runs so far. */
  get failures(): number {
    return this.#failures;
  }

  /** The process exited after running `ranMs`: how long to wait before the next start. */
  next(ranMs: number): number {
    if (ranMs >= this.stableMs) this.#failures = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return delay;
  }

  reset(): void {
    this.#failures = 0;
  }
}
