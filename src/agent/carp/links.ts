// Link state of the interfaces that carry VIPs. A cable pull on any of them
// demotes the whole node (ElectionNode.setLink), so it must be seen quickly
// and must never be missed.
//
// Two sources, because each alone has a failure mode:
//   - `ip -o monitor link address` (netlink events through iproute2, streamed
//     via execa) wakes us within milliseconds of a change; it is only a
//     trigger, its text is not parsed beyond "something happened".
//   - sysfs is the truth, read on every trigger and every `pollMs` anyway, so
//     a monitor that dies, lags or is restarted cannot hide a change.
// A link is up when the interface exists, is administratively up (IFF_UP),
// has carrier, and its operstate is up (or unknown, for drivers that do not
// report one). A missing interface is down.

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

const IFF_UP = 0x1;

export interface LinkState {
  exists: boolean;
  up: boolean;
  ifindex: number;
  operstate: string;
}

function readSys(iface: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${iface}/${attr}`, 'utf8').trim();
  } catch {
    return undefined; // gone, or carrier of an admin-down interface (EINVAL)
  }
}

/** The link state of one interface, from sysfs of our network namespace. */
export function readLink(iface: string): LinkState {
  if (!/^[^/\s]{1,15}$/.test(iface)) return { exists: false, up: false, ifindex: 0, operstate: 'invalid' };
  const ifindex = Number(readSys(iface, 'ifindex') ?? 0);
  if (!ifindex) return { exists: false, up: false, ifindex: 0, operstate: 'missing' };
  const flags = Number.parseInt(readSys(iface, 'flags') ?? '0', 16);
  const operstate = readSys(iface, 'operstate') ?? 'unknown';
  const carrier = readSys(iface, 'carrier') === '1';
  const up = (flags & IFF_UP) !== 0 && carrier && (operstate === 'up' || operstate === 'unknown');
  return { exists: true, up, ifindex, operstate };
}

export declare interface LinkMonitor {
  on(event: 'change', listener: (iface: string, state: LinkState, before: LinkState) => void): this;
  /** Any link or address event (after the states were re-read). */
  on(event: 'event', listener: () => void): this;
}

export class LinkMonitor extends EventEmitter {
  readonly #ifaces = new Set<string>();
  readonly #state = new Map<string, LinkState>();
  readonly #pollMs: number;
  readonly #read: (iface: string) => LinkState;
  #poll: NodeJS.Timeout | undefined;
  #monitor: ResultPromise | undefined;
  #stopped = true;
  #restarts = 0;

  constructor(opts: { pollMs?: number; read?: (iface: string) => LinkState } = {}) {
    super();
    this.#pollMs = opts.pollMs ?? 2000;
    this.#read = opts.read ?? readLink;
  }

  /** Watch exactly these interfaces (adds and removes). */
  watch(ifaces: Iterable<string>): void {
    const want = new Set(ifaces);
    for (const i of [...this.#ifaces]) if (!want.has(i)) { this.#ifaces.delete(i); this.#state.delete(i); }
    for (const i of want) if (!this.#ifaces.has(i)) { this.#ifaces.add(i); this.#state.set(i, this.#read(i)); }
  }

  state(iface: string): LinkState {
    return this.#state.get(iface) ?? this.#read(iface);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#poll = setInterval(() => this.check(), this.#pollMs);
    this.#startMonitor();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    this.#monitor?.kill('SIGTERM');
    this.#monitor = undefined;
  }

  /** Re-read every watched interface; emit 'change' for those that changed. */
  check(): void {
    for (const iface of this.#ifaces) {
      const before = this.#state.get(iface);
      const now = this.#read(iface);
      this.#state.set(iface, now);
      if (before === undefined || before.up !== now.up || before.ifindex !== now.ifindex) {
        this.emit('change', iface, now, before ?? now);
      }
    }
    this.emit('event');
  }

  #startMonitor(): void {
    if (this.#stopped) return;
    const child = execa('ip', ['-o', 'monitor', 'link', 'address'], { buffer: false, reject: false, stdin: 'ignore', stderr: 'ignore' });
    this.#monitor = child;
    child.stdout?.on('data', () => this.check());
    void child.then(() => {
      if (this.#stopped || this.#monitor !== child) return;
      // Restart with a growing pause (at most 5 s); sysfs polling covers the gap.
      const delay = Math.min(100 * 2 ** this.#restarts++, 5000);
      setTimeout(() => this.#startMonitor(), delay).unref();
    });
    child.once('spawn', () => { this.#restarts = 0; });
  }
}
