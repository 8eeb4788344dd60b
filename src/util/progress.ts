/**
 * Step lines for long-running commands. Human output goes to stderr so that
 * stdout stays clean for `--json` reports.
 *
 *   [3/8] base layer ......... 41 packages, 12.3 MiB (cached) 0.2s
 */
export interface Step {
  /** Finish the step with a short result description. */
  done(detail?: string): void;
  /** Update the detail shown while the step runs (printed once per call). */
  note(detail: string): void;
}

export class Progress {
  private index = 0;
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly quiet = false,
  ) {}

  step(name: string): Step {
    const n = ++this.index;
    const started = performance.now();
    const prefix = `[${n}/${this.total}] ${name.padEnd(14, ' ')}`;
    const write = (line: string) => {
      if (!this.quiet) this.out.write(line + '\n');
    };
    write(`${prefix} ...`);
    return {
      note: (detail) => write(`${prefix} ${detail}`),
      done: (detail = 'done') => {
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        write(`${prefix} ${detail} ${secs}s`);
      },
    };
  }

  info(line: string): void {
    if (!this.quiet) this.out.write(line + '\n');
  }
}
