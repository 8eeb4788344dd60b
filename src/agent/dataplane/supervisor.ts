/**
 * conntrackd under carpd's supervision: one daemon per node, started with
 * the node's own config, restarted with backoff when it dies, stopped with
 * carpd. I/O shell; the restart policy is backoff.ts.
 *
 * Rules it keeps:
 *   - Only its own PID is ever signalled: the child it spawned, or the PID
 *     its predecessor wrote to the pid file, and that one only when
 *     /proc/<pid>/cmdline shows conntrackd with *this* config path (a
 *     SIGKILLed carpd leaves its conntrackd running; the next carpd stops it
 *     and starts its own, which then learns the table again by resync).
 *   - conntrackd refuses to start while its lock file exists, and a killed
 *     daemon leaves it behind: the lock and socket are removed before each
 *     start, once no daemon of ours is running.
 *   - conntrackd runs in the foreground (no -d) so that its exit is seen at
 *     once; its console output is kept (last lines) for the exit report.
 *     Its own log goes to the LogFile in its config.
 *   - "Ready" means it answers `conntrackd -s` on its socket.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runConntrackd } from '../statesync/index.js';
import type { SyncLog } from '../configsync/types.js';
import { RestartBackoff } from './backoff.js';
import type { ConntrackdPaths } from './plan.js';

export interface SupervisorOptions {
  paths: ConntrackdPaths;
  log: SyncLog;
  /** conntrackd executable. Default "conntrackd". */
  bin?: string;
  backoff?: RestartBackoff;
  /** How long a start may take to answer on its socket. Default 5 s. */
  readyTimeoutMs?: number;
  /** Does the daemon answer? Default: `conntrackd -s` through the socket. */
  probe?: () => Promise<boolean>;
}

export interface ExitRecord {
  at: string;
  code: number | null;
  signal: string | null;
  ranMs: number;
  /** Its last console lines. */
  output: string[];
}

export interface SupervisorStatus {
  running: boolean;
  ready: boolean;
  pid: number | null;
  startedAt: string | null;
  /** Restarts after unexpected exits. */
  restarts: number;
  lastExit: ExitRecord | null;
}

const OUTPUT_LINES = 20;

export declare interface ConntrackdSupervisor {
  /** After every start that answered on the socket (the first one and each restart). */
  on(event: 'ready', listener: () => void): this;
  /** An unexpected exit (a restart is scheduled). */
  on(event: 'exit', listener: (e: ExitRecord) => void): this;
}

export class ConntrackdSupervisor extends EventEmitter {
  readonly #o: SupervisorOptions;
  readonly #backoff: RestartBackoff;
  #child: ChildProcess | undefined;
  #startedAt = 0;
  #startedAtIso: string | null = null;
  #ready = false;
  #wanted = false;
  #restarts = 0;
  #lastExit: ExitRecord | null = null;
  #output: string[] = [];
  #restartTimer: NodeJS.Timeout | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(opts: SupervisorOptions) {
    super();
    this.#o = opts;
    this.#backoff = opts.backoff ?? new RestartBackoff();
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start (stopping a leftover of a previous carpd first) and wait until it answers. */
  async start(): Promise<void> {
    this.#wanted = true;
    await mkdir(this.#o.paths.dir, { recursive: true, mode: 0o700 });
    await this.#stopLeftover();
    await this.#spawn();
  }

  /** Stop it (SIGTERM, then SIGKILL after 3 s); no restart follows. */
  async stop(): Promise<void> {
    this.#wanted = false;
    clearTimeout(this.#restartTimer);
    await this.#terminate();
    await rm(this.#o.paths.pidFile, { force: true });
  }

  /** Stop and start again (a new config). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  status(): SupervisorStatus {
    const pid = this.#child?.pid;
    return {
      running: this.#child !== undefined,
      ready: this.#ready,
      pid: pid ?? null,
      startedAt: this.#startedAtIso,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
    };
  }

  async #spawn(): Promise<void> {
    const p = this.#o.paths;
    // A daemon that died (SIGKILL, crash) leaves its lock and socket; none of ours runs now.
    await rm(p.lockFile, { force: true });
    await rm(p.socket, { force: true });
    this.#output = [];
    this.#ready = false;
    const child = spawnChild(this.#o.bin ?? 'conntrackd', ['-C', p.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#startedAt = performance.now();
    this.#startedAtIso = new Date().toISOString();
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.#output.push(line.trim());
      if (this.#output.length > OUTPUT_LINES) this.#output.splice(0, this.#output.length - OUTPUT_LINES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise<void>((resolve) => {
      let done = false;
      const exited = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (done) return;
        done = true;
        if (error !== undefined) this.#output.push(error.message);
        if (this.#child === child) this.#child = undefined;
        this.#ready = false;
        this.#exit(code, signal);
        resolve();
      };
      child.once('exit', (code, signal) => exited(code, signal));
      child.once('error', (e) => exited(null, null, e));
    });
    if (child.pid !== undefined) await writeFile(p.pidFile, `${child.pid}\n`).catch(() => undefined);
    this.#o.log.info('conntrackd started', { pid: child.pid, config: p.conf });
    await this.#waitReady(child);
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const probe = this.#o.probe ?? (async () => (await runConntrackd(['-s'], this.#o.paths.socket, { timeoutMs: 2000, ...(this.#o.bin ? { bin: this.#o.bin } : {}) })).ok);
    const deadline = performance.now() + (this.#o.readyTimeoutMs ?? 5000);
    while (this.#child === child) {
      if (existsSync(this.#o.paths.socket) && (await probe().catch(() => false))) {
        if (this.#child !== child) break;
        this.#ready = true;
        this.emit('ready');
        return;
      }
      if (performance.now() > deadline) throw new Error(`conntrackd (pid ${child.pid ?? '?'}) did not answer on ${this.#o.paths.socket} within ${this.#o.readyTimeoutMs ?? 5000} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const e = this.#lastExit;
    throw new Error(`conntrackd exited at start (${e?.signal ?? `code ${e?.code ?? '?'}`}): ${e?.output.slice(-3).join(' | ') ?? ''}`);
  }

  #exit(code: number | null, signal: NodeJS.Signals | null): void {
    const ranMs = Math.round(performance.now() - this.#startedAt);
    const record: ExitRecord = { at: new Date().toISOString(), code, signal, ranMs, output: [...this.#output] };
    this.#lastExit = record;
    if (!this.#wanted) return;
    const delay = this.#backoff.next(ranMs);
    this.#o.log.warn('conntrackd exited; restarting', { code: code ?? undefined, signal: signal ?? undefined, ranMs, inMs: delay, last: this.#output.at(-1) });
    this.emit('exit', record);
    this.#restartTimer = setTimeout(() => {
      if (!this.#wanted || this.#child !== undefined) return;
      this.#restarts++;
      this.#spawn().catch((e: unknown) => this.#o.log.error('conntrackd restart failed', { error: e instanceof Error ? e.message : String(e) }));
    }, delay);
  }

  async #terminate(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([this.#exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 3000))]);
    if (killed && this.#child === child) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** The conntrackd a previous carpd started with this config (pid file), if it still runs: stop it. */
  async #stopLeftover(): Promise<void> {
    const pid = leftoverPid(this.#o.paths);
    if (pid === undefined) return;
    this.#o.log.info('stopping the conntrackd a previous carpd left running', { pid });
    const gone = () => !existsSync(`/proc/${pid}`) || leftoverPid(this.#o.paths) !== pid;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 150 && !gone(); i++) await new Promise((r) => setTimeout(r, 20));
    if (!gone()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      for (let i = 0; i < 50 && !gone(); i++) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The PID in the pid file, if that process is conntrackd running this config. */
export function leftoverPid(paths: Pick<ConntrackdPaths, 'pidFile' | 'conf'>): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // argv[0] is conntrackd, or an interpreter running a script of that name.
    const isOurs = argv.slice(0, 2).some((a) => basename(a) === 'conntrackd') && argv.includes(paths.conf);
    return isOurs ? pid : undefined;
  } catch {
    return undefined;
  }
}
