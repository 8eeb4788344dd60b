// `ip` for the takeover path, without paying for a process per change.
//
// Starting `ip` costs about 5 ms here, which is a tenth of a 10 ms VRRPv3
// failover. So carpd keeps one `ip -force -batch -` running and writes
// commands to its stdin; iproute2 runs each line as it arrives. To know when
// a group of commands is done, each group ends with a sentinel that must
// fail: `link show dev _carpd_<n>` (no such device). Its error is the last
// thing the group writes to stderr; anything before it on stderr since the
// previous sentinel is the group's own errors. -force keeps the batch alive
// after a failing line.
//
// If the coprocess dies or stops answering, pending groups fail over to a
// one-shot `ip -force -batch -` each (the slow path, still correct), and the
// next group starts a fresh coprocess.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { execa } from 'execa';

export interface IpResult { ok: boolean; stderr: string }
export type IpRunner = (commands: string[]) => Promise<IpResult>;

/** One `ip -force -batch -` per call: simple, about 5 ms each. */
export const runIpOnce: IpRunner = async (commands) => {
  const r = await execa('ip', ['-force', '-batch', '-'], { input: commands.join('\n') + '\n', reject: false });
  return { ok: r.exitCode === 0, stderr: String(r.stderr ?? '').trim() };
};

interface Pending { id: number; commands: string[]; resolve: (r: IpResult) => void; timer: NodeJS.Timeout }

const SENTINEL = /Device "_carpd_(\d+)" does not exist\.\nCommand failed -:\d+\n/;

export class IpBatch {
  #child: ChildProcessWithoutNullStreams | undefined;
  #stderr = '';
  #seq = 0;
  readonly #pending: Pending[] = [];
  readonly #timeoutMs: number;

  constructor(opts: { timeoutMs?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Run the commands in order; resolves once all of them were carried out. */
  run: IpRunner = (commands) => new Promise<IpResult>((resolve) => {
    const child = this.#ensure();
    if (!child) { void runIpOnce(commands).then(resolve); return; }
    const id = (this.#seq = (this.#seq + 1) % 1e8);
    const timer = setTimeout(() => this.#fail(), this.#timeoutMs);
    this.#pending.push({ id, commands, resolve, timer });
    child.stdin.write(`${commands.join('\n')}\nlink show dev _carpd_${id}\n`);
  });

  close(): void {
    const c = this.#child;
    this.#child = undefined;
    c?.stdin.end();
    this.#fail();
  }

  #ensure(): ChildProcessWithoutNullStreams | undefined {
    if (this.#child && this.#child.exitCode === null) return this.#child;
    try {
      const child = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.#stderr = '';
      child.stdout.resume(); // nothing there matters (the commands used print nothing)
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => this.#onStderr(d));
      child.stdin.on('error', () => undefined); // EPIPE: handled by 'exit'
      child.on('error', () => this.#fail());
      child.on('exit', () => { if (this.#child === child) { this.#child = undefined; this.#fail(); } });
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.#child = child;
      return child;
    } catch {
      return undefined;
    }
  }

  #onStderr(d: string): void {
    this.#stderr += d;
    for (let m = SENTINEL.exec(this.#stderr); m; m = SENTINEL.exec(this.#stderr)) {
      const before = this.#stderr.slice(0, m.index).trim();
      this.#stderr = this.#stderr.slice(m.index + m[0].length);
      const id = Number(m[1]);
      // Groups finish in order; anything older than this sentinel is done too.
      while (this.#pending.length > 0) {
        const p = this.#pending.shift() as Pending;
        clearTimeout(p.timer);
        const mine = p.id === id;
        p.resolve({ ok: !mine || before === '', stderr: mine ? before : '' });
        if (mine) break;
      }
    }
  }

  /** Give every waiting group to the slow path, and drop the coprocess. */
  #fail(): void {
    const c = this.#child;
    this.#child = undefined;
    if (c && c.exitCode === null) c.kill('SIGKILL');
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      void runIpOnce(p.commands).then(p.resolve);
    }
  }
}
