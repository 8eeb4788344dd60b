/**
 * One conntrackd command at a time, in order: conntrackd handles its UNIX
 * socket requests one by one anyway, and a transition's steps must not
 * interleave with the next transition's. Jobs not started yet can be
 * dropped: a promotion must not wait behind (or run after) the `-t -n` of
 * a demotion it supersedes.
 */
export type Skipped = { skipped: true };

interface Job {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class Serial {
  readonly #jobs: Job[] = [];
  #running = false;
  #idle: Array<() => void> = [];

  /** Queue `run`; resolves with its result, or `{ skipped: true }` when dropped before it started. */
  push<T>(run: () => Promise<T>): Promise<T | Skipped> {
    return new Promise<T | Skipped>((resolve, reject) => {
      this.#jobs.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#running) void this.#drain();
    });
  }

  /** Drop every job not started yet; returns how many. */
  dropPending(): number {
    const dropped = this.#jobs.splice(0);
    for (const j of dropped) j.resolve({ skipped: true });
    return dropped.length;
  }

  get busy(): boolean {
    return this.#running;
  }

  /** Resolves once nothing runs and nothing is queued. */
  idle(): Promise<void> {
    if (!this.#running && this.#jobs.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
        try {
          job.resolve(await job.run());
        } catch (e) {
          job.reject(e);
        }
      }
    } finally {
      this.#running = false;
      for (const f of this.#idle.splice(0)) f();
    }
  }
}

export function isSkipped(v: unknown): v is Skipped {
  return typeof v === 'object' && v !== null && (v as Partial<Skipped>).skipped === true;
}
