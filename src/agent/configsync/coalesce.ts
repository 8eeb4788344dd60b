/**
 * Pushes to one peer, one at a time, latest state wins.
 *
 * A change schedules a push; if one is already running, the next push is
 * queued once, however many changes arrive meanwhile, and it reads the state
 * when it starts. So a peer never gets revisions out of order, never gets a
 * backlog, and every caller learns the outcome of a push that started after
 * its change (and therefore carries it).
 */
export class Coalescer<T> {
  private running: Promise<T> | undefined;
  private queued: { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly task: () => Promise<T>) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  schedule(): Promise<T> {
    if (this.running === undefined) return this.start();
    if (this.queued === undefined) {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.queued = { promise, resolve, reject };
    }
    return this.queued.promise;
  }

  private start(): Promise<T> {
    const run = this.task();
    this.running = run;
    const next = () => {
      this.running = undefined;
      const q = this.queued;
      if (q === undefined) return;
      this.queued = undefined;
      this.start().then(q.resolve, q.reject);
    };
    run.then(next, next);
    return run;
  }
}
