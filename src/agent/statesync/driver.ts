/**
 * Driving conntrackd on election transitions, the way keepalived's
 * primary-backup.sh (conntrackd's own example) does it:
 *
 *   to MASTER   -c  commit the external cache (the peer's states) into the kernel
 *               -f  flush the internal and external caches
 *               -R  resync the internal cache with the kernel table
 *               -B  bulk-send our states to the backups
 *   to BACKUP   -t  shorten kernel timers (PurgeTimeout) so zombie entries expire
 *               -n  request a full resync from the master
 *   fault       -t
 *   startup     -n  learn the whole table from the master before we could preempt
 *
 * `transitionSteps` is the pure part; `runConntrackd` and `runSteps` are the
 * thin exec shell. `conntrackd -c` returns once the commit is done (measured:
 * 50,000 entries in 0.38-0.43 s, all in the kernel when it exits), so carpd can
 * wait for the steps marked `beforeAnnounce` and only then take the VIPs and
 * advertise as master: every synced session then finds its state in place.
 *
 * conntrackd clients find the daemon through a config file's UNIX Path; the
 * wrapper writes a three-line client config per socket (a full config would
 * also be parsed, and warns when its sync interface is not in the caller's
 * namespace). The socket is a file-system path, so the client works from any
 * network namespace.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { State as ElectionState } from '../proto/election.js';

export type StateSyncTransition = 'startup' | 'master' | 'backup' | 'fault';

export interface ConntrackdStep {
  /** Client arguments, without -C. */
  args: readonly string[];
  what: string;
  /** carpd finishes this step before it takes the VIPs and advertises as master. */
  beforeAnnounce: boolean;
}

const STEPS: Record<StateSyncTransition, readonly ConntrackdStep[]> = {
  master: [
    { args: ['-c'], what: 'commit the external cache into the kernel table', beforeAnnounce: true },
    { args: ['-f'], what: 'flush the internal and external caches', beforeAnnounce: false },
    { args: ['-R'], what: 'resync the internal cache with the kernel table', beforeAnnounce: false },
    { args: ['-B'], what: 'bulk-send our states to the backups', beforeAnnounce: false },
  ],
  backup: [
    { args: ['-t'], what: 'shorten kernel timers so stale entries expire', beforeAnnounce: false },
    { args: ['-n'], what: 'request a full resync from the master', beforeAnnounce: false },
  ],
  fault: [{ args: ['-t'], what: 'shorten kernel timers so stale entries expire', beforeAnnounce: false }],
  startup: [{ args: ['-n'], what: 'request a full resync from the master', beforeAnnounce: false }],
};

/** The ordered conntrackd client commands for a transition. */
export function transitionSteps(transition: StateSyncTransition): ConntrackdStep[] {
  return STEPS[transition].map((s) => ({ ...s, args: [...s.args] }));
}

/** Splits a transition's steps at the point where carpd may announce itself. */
export function splitAtAnnounce(steps: readonly ConntrackdStep[]): { before: ConntrackdStep[]; after: ConntrackdStep[] } {
  const lastGate = steps.map((s) => s.beforeAnnounce).lastIndexOf(true);
  return { before: steps.slice(0, lastGate + 1), after: steps.slice(lastGate + 1) };
}

/**
 * The node-wide role state sync follows. conntrackd has one table per node,
 * while carpd runs one election per VIP: the node is "master" as soon as it is
 * MASTER of any VIP (it forwards traffic for it), "backup" when it is MASTER of
 * none and BACKUP of at least one, and "fault" when every election is in INIT
 * (links down or disabled) after having run.
 */
export type NodeSyncRole = 'master' | 'backup' | 'fault';

export function nodeSyncRole(states: readonly ElectionState[]): NodeSyncRole {
  if (states.includes('MASTER')) return 'master';
  if (states.includes('BACKUP')) return 'backup';
  return 'fault';
}

/**
 * Sans-IO tracker: feed it every election state change (all VIPs' current
 * states), get back the transition to drive, or undefined when the
 * node-wide role did not change. The first call yields "startup" when the
 * node is not master yet (request the table before anything else), or
 * "master" when it already is.
 */
export class StateSyncTracker {
  #role: NodeSyncRole | undefined;

  get role(): NodeSyncRole | undefined {
    return this.#role;
  }

  update(states: readonly ElectionState[]): StateSyncTransition | undefined {
    const role = nodeSyncRole(states);
    const previous = this.#role;
    this.#role = role;
    if (previous === undefined) return role === 'master' ? 'master' : 'startup';
    if (previous === role) return undefined;
    return role;
  }
}

// ---- the exec shell -------------------------------------------------------------

export interface ConntrackdRunOptions {
  /** conntrackd executable. Default "conntrackd" (PATH). */
  bin?: string;
  /** Kill the client after this long. Default 30 s (a large commit takes ~1 s per 100,000 entries). */
  timeoutMs?: number;
  /** Use this config file for -C instead of a generated client config. */
  configPath?: string;
  /** Where generated client configs go. Default $TMPDIR/carpd-conntrackd. */
  clientConfigDir?: string;
}

export interface ConntrackdResult {
  args: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  ok: boolean;
  /** Timed out, could not be started, or exited non-zero: a one-line reason. */
  error?: string;
}

/** The client config text conntrackd needs to reach a daemon's socket. */
export function clientConfigText(socketPath: string): string {
  if (!socketPath.startsWith('/') || /[\s{}#"]/.test(socketPath)) {
    throw new Error(`conntrackd socket "${socketPath}" must be an absolute path without spaces, braces, # or quotes`);
  }
  return `General {\n\tUNIX {\n\t\tPath ${socketPath}\n\t}\n}\n`;
}

/** Writes (once, atomically) and returns the client config for a socket. */
export function clientConfigFor(socketPath: string, dir = join(tmpdir(), 'carpd-conntrackd')): string {
  const text = clientConfigText(socketPath);
  const hash = createHash('sha256').update(socketPath).digest('hex').slice(0, 16);
  const path = join(dir, `client-${hash}.conf`);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return path;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Runs one conntrackd client command against the daemon listening on `socketPath`. */
export async function runConntrackd(args: readonly string[], socketPath: string, opts: ConntrackdRunOptions = {}): Promise<ConntrackdResult> {
  const config = opts.configPath ?? clientConfigFor(socketPath, opts.clientConfigDir);
  const started = performance.now();
  const r = await execa(opts.bin ?? 'conntrackd', ['-C', config, ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    stdin: 'ignore',
  });
  const durationMs = performance.now() - started;
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const ok = exitCode === 0 && !r.timedOut && r.failed === false;
  const result: ConntrackdResult = { args: [...args], exitCode, stdout, stderr, durationMs, ok };
  if (!ok) {
    // conntrackd prints "[date] (pid=N) [ERROR] can't connect: ..." on stderr.
    const message = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*\]\s*\(pid=\d+\)\s*/, '').trim()).filter((l) => l !== '').join('; ');
    result.error = r.timedOut
      ? `conntrackd ${args.join(' ')} timed out after ${opts.timeoutMs ?? 30_000} ms`
      : message || (r.failed && exitCode === -1 ? `conntrackd could not be run: ${r.shortMessage ?? 'unknown error'}` : `conntrackd ${args.join(' ')} exited ${exitCode}`);
  }
  return result;
}

export interface StepResult extends ConntrackdResult {
  step: ConntrackdStep;
}

/**
 * Runs steps in order. Like primary-backup.sh, a failed step is reported and
 * the next one still runs (a failed flush must not prevent the bulk send).
 */
export async function runSteps(
  steps: readonly ConntrackdStep[],
  socketPath: string,
  opts: ConntrackdRunOptions & { onStep?: (r: StepResult) => void } = {},
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    const r: StepResult = { ...(await runConntrackd(step.args, socketPath, opts)), step };
    opts.onStep?.(r);
    results.push(r);
  }
  return results;
}
