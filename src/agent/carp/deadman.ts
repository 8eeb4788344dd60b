// The dead-man switch: if carpd dies without a chance to clean up (SIGKILL,
// a crash in native code, the OOM killer), its VIPs must not stay behind. A
// VIP left up on a live box with a dead carpd keeps answering ARP with the
// virtual MAC while the peer takes over, and the switch's port learning then
// flaps between the two: a split brain made of one crashed daemon.
//
// keepalived gets this from a parent-death signal. Node has no prctl, so
// carpd keeps a small shell child whose stdin is a pipe from carpd. When
// carpd dies, for any reason, the kernel closes the pipe, `read` returns at
// end of file and the child deletes carpd's macvlans (taking the VIPs with
// them). A clean stop sends "disarm" first. Each macvlan is deleted only if
// its ifindex is still the one carpd made, so a carpd restarted at once (and
// a fresh set of macvlans with the same names) is never touched.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Warn } from '../log.js';

const SCRIPT = `
read -r cmd
[ "$cmd" = disarm ] && exit 0
while [ $# -ge 2 ]; do
  [ "$(cat /sys/class/net/$1/ifindex 2>/dev/null)" = "$2" ] && ip link del dev "$1" 2>/dev/null
  shift 2
done
exit 0
`;

export interface Guarded { name: string; ifindex: number }

export class DeadmanSwitch {
  #child: ChildProcess | undefined;
  #guarded: Guarded[] = [];
  readonly #warn: Warn;

  constructor(warn: Warn) {
    this.#warn = warn;
  }

  get armed(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null;
  }

  get guarded(): readonly Guarded[] {
    return this.#guarded;
  }

  /** (Re-)arm for exactly these interfaces. */
  arm(guarded: Guarded[]): void {
    this.disarm();
    this.#guarded = guarded.filter((g) => g.ifindex > 0);
    if (this.#guarded.length === 0) return;
    const args = this.#guarded.flatMap((g) => [g.name, String(g.ifindex)]);
    const child = spawn('sh', ['-c', SCRIPT, 'carpd-deadman', ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', (e) => this.#warn('dead-man switch failed to start', { error: e.message }));
    child.stdin?.on('error', () => undefined); // EPIPE if it died first
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      this.#warn('dead-man switch exited; re-arming', { code: code ?? -1, signal: signal ?? '' });
      setTimeout(() => { if (this.#child === undefined && this.#guarded.length) this.arm(this.#guarded); }, 1000).unref();
    });
    this.#child = child;
  }

  /** Stand down: carpd is stopping cleanly and has released its VIPs itself. */
  disarm(): void {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    child.stdin?.end('disarm\n');
  }
}
