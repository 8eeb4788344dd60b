/**
 * Network-namespace test rig, in the spirit of the NixOS test driver.
 *
 *   const rig = await Rig.create('carp');              // namespaces cpt-<pid>-<n>-carp-*
 *   const fw1 = await rig.host('fw1');
 *   await rig.link(fw1, 'LAN', 'lan', { addresses: ['192.168.1.2/24'] });
 *   await fw1.succeed('ping -c1 -W1 192.168.1.3');      // shell string, or argv form:
 *   await fw1.succeed('ip', ['-br', 'addr']);
 *   const p = fw1.spawn('ucarp', [...]);               // PID recorded, killed at teardown
 *   await rig.linkDown(fw1, 'LAN');                      // cable pull (bridge side down)
 *   await rig.teardown();                                // or withRig(name, async (rig) => ...)
 *
 * Teardown also runs from a root node:test after() hook (when imported under
 * the test runner) and on process exit, SIGINT and SIGTERM.
 *
 * Everything lives in namespaces this rig created: the bridges sit in a
 * dedicated "switch" namespace (pure L2, IPv6 off), each veth is created
 * there with its peer moved straight into the host namespace, so no interface
 * ever appears in the caller's own namespace. Processes are only ever killed
 * by the PIDs the rig started (checked against their start time), by PIDs read
 * from pid files the caller declared, or — at teardown of a live rig — because
 * they sit inside one of the rig's own namespaces. Never by name.
 *
 * State (namespaces, PIDs with start times) is kept in `<baseDir>/<rig id>/state.json`
 * so sweepStale() can clean up after a crashed run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { execa, type ResultPromise } from 'execa';

export const DEFAULT_PREFIX = 'cpt-';

/** Rig state directory: $CARPENTER_RIG_DIR or /run/carpenter-rig (tmpfs, gone on reboot like namespaces). */
export function defaultBaseDir(): string {
  return process.env.CARPENTER_RIG_DIR || '/run/carpenter-rig';
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** A reason to skip namespace tests, or undefined when they can run. */
export function rigSkipReason(): string | undefined {
  if (!isRoot()) return 'namespace rig tests need root (ip netns, veth, bridges): run as root';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error) return 'iproute2 (`ip`) is not installed: apt-get install iproute2';
  return undefined;
}

export interface ExecResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  /** Extra environment variables (added to the rig's environment). */
  env?: Record<string, string>;
  input?: string;
}

export interface SpawnOptions {
  /** Label for logs (default: the command's basename). */
  name?: string;
  /** Extra environment variables (added to the rig's environment). */
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Pid files the process writes for children it forks (keepalived's VRRP
   * child, for instance): PIDs read from them are killed at teardown too, if
   * they are still inside this rig's namespaces.
   */
  pidFiles?: string[];
}

export interface LinkOptions {
  /** MAC address of the host-side interface. */
  mac?: string;
  /** Addresses (CIDR) to add to the host-side interface, IPv6 with nodad. */
  addresses?: string[];
  /** Bring both ends up (default true). */
  up?: boolean;
}

export interface BridgeOptions {
  /** IGMP/MLD snooping on the bridge (default off: floods all multicast, deterministic). */
  mcastSnooping?: boolean;
}

export interface RigOptions {
  /** Name prefix for everything (default "cpt-"): ids are `<prefix><pid>-<seq>-<name>`. */
  prefix?: string;
  baseDir?: string;
  /** Register teardown on process exit/SIGINT/SIGTERM (default true). */
  processHooks?: boolean;
  /** Grace period between SIGTERM and SIGKILL at teardown (default 3000 ms). */
  killTimeoutMs?: number;
  log?: (msg: string) => void;
  /**
   * IPv6 duplicate address detection in host namespaces (default true, the
   * kernel's behaviour). With DAD, link-local addresses are tentative for
   * about 1-2 s after a link comes up and a router does not resolve
   * neighbours for forwarded packets until then: call rig.settle().
   */
  dad?: boolean;
}

interface ProcRecord {
  pid: number;
  start: string;
  host: string;
  cmd: string;
  pidFiles?: string[];
}

interface RigState {
  id: string;
  ownerPid: number;
  ownerStart: string;
  created: string;
  namespaces: string[];
  processes: ProcRecord[];
}

export interface TeardownReport {
  killed: number[];
  stragglers: number[];
  namespaces: string[];
  errors: string[];
}

/* ------------------------------------------------------------------ utils */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined if gone. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19]
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Alive, not a zombie, and (if given) the same process as recorded. */
export function pidAlive(pid: number, start?: string): boolean {
  const s = procStartTime(pid);
  return s !== undefined && (start === undefined || s === start);
}

function netnsInode(ns: string): number | undefined {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

function pidNetnsInode(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

function tryKill(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

function readPidFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Namespaces from `ip netns list` (names only). */
export function listNamespaces(prefix = ''): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '' && n.startsWith(prefix));
}

function netnsPids(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => Number.parseInt(l, 10))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/**
 * Environment for commands run in the rig: ours plus `extra`, minus the test
 * runner's NODE_TEST_CONTEXT (a child node process that imports node:test
 * would otherwise speak the runner's protocol on stdout).
 */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) {
    if (v !== undefined && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  }
  return env;
}

function quote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Poll `fn` until it returns something other than false/undefined/null (or
 * stops throwing); returns that value. Throws after timeoutMs with the last
 * error or `what`.
 */
export async function waitUntil<T>(
  fn: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const timeout = opts.timeoutMs ?? 10_000;
  const interval = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v !== undefined && v !== null) return v as T;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${opts.what ?? 'condition'}${why}`);
    }
    await sleep(interval);
  }
}

/* --------------------------------------------------------- process hooks */

const liveRigs = new Set<Rig>();
let hooksInstalled = false;

function onExit(): void {
  for (const rig of [...liveRigs]) rig.teardownSync();
}

function onSignal(sig: NodeJS.Signals): void {
  onExit();
  uninstallHooks();
  process.kill(process.pid, sig);
}

const sigint = (): void => onSignal('SIGINT');
const sigterm = (): void => onSignal('SIGTERM');

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  process.off('SIGINT', sigint);
  process.off('SIGTERM', sigterm);
}

/**
 * Under the node:test runner, one root-level after() hook tears down every
 * rig still alive when the file's tests are done (registered at import time:
 * a hook registered later, from inside a test or a before() hook, would
 * attach to that test or hook and run too early). Tests should still tear
 * their rigs down themselves (rig.teardown(), withRig()); this hook and the
 * process exit/signal hooks are the safety net.
 */
function underTestRunner(): boolean {
  if (process.env.CARPENTER_RIG_NO_TEST_HOOK) return false;
  return (
    process.env.NODE_TEST_CONTEXT !== undefined ||
    process.execArgv.some((a) => a === '--test' || a.startsWith('--test-')) ||
    /\.test\.[cm]?js$/.test(process.argv[1] ?? '')
  );
}

if (underTestRunner()) {
  after(async () => {
    await Promise.all([...liveRigs].map((r) => r.teardown()));
  });
}

/* ---------------------------------------------------------------- classes */

let rigSeq = 0;

export class Rig {
  readonly name: string;
  readonly id: string;
  readonly prefix: string;
  readonly dir: string;
  readonly switchNs: string;
  private readonly opts: RigOptions;
  private readonly hostMap = new Map<string, Host>();
  private readonly hostPending = new Map<string, Promise<Host>>();
  private readonly bridgeSet = new Set<string>();
  private readonly linkMap = new Map<string, Link>();
  private readonly portNames = new Set<string>();
  private readonly state: RigState;
  /** Every process this rig ever started (also the exited ones). */
  readonly processes: RigProcess[] = [];
  private tornDown = false;
  private teardownPromise: Promise<TeardownReport> | undefined;

  private constructor(name: string, opts: RigOptions) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new TypeError(`rig name must be [A-Za-z0-9_.-]+: ${name}`);
    this.name = name;
    this.opts = opts;
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.id = `${this.prefix}${process.pid}-${++rigSeq}-${name}`;
    this.dir = join(opts.baseDir ?? defaultBaseDir(), this.id);
    this.switchNs = `${this.id}-sw`;
    this.state = {
      id: this.id,
      ownerPid: process.pid,
      ownerStart: procStartTime(process.pid) ?? '',
      created: new Date().toISOString(),
      namespaces: [],
      processes: [],
    };
  }

  /** Create a rig: its state dir and its switch namespace. */
  static async create(name: string, opts: RigOptions = {}): Promise<Rig> {
    const skip = rigSkipReason();
    if (skip) throw new Error(skip);
    const rig = new Rig(name, opts);
    mkdirSync(rig.dir, { recursive: true });
    rig.saveState();
    liveRigs.add(rig);
    if (opts.processHooks ?? true) installHooks();
    try {
      await rig.addNamespace(rig.switchNs);
      // the switch is pure L2: no IPv6 (no RS/MLD/DAD noise from ports and bridges)
      await rig.ip(rig.switchNs, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    } catch (e) {
      await rig.teardown();
      throw e;
    }
    return rig;
  }

  log(msg: string): void {
    (this.opts.log ?? ((m: string) => process.env.CARPENTER_RIG_DEBUG && console.error(m)))(`[${this.id}] ${msg}`);
  }

  private saveState(): void {
    if (this.tornDown) return;
    const file = join(this.dir, 'state.json');
    const tmp = `${file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.state, null, 2));
      renameSync(tmp, file);
    } catch {
      /* dir removed concurrently by a teardown */
    }
  }

  private async addNamespace(ns: string): Promise<void> {
    this.state.namespaces.push(ns);
    this.saveState();
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** Run a command inside a namespace (argv form), throwing on failure. */
  private async ip(ns: string, argv: string[]): Promise<string> {
    const r = await execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new Error(`[${ns}] ${quote(argv)} failed (${String(r.exitCode)}): ${String(r.stderr)}`);
    return String(r.stdout);
  }

  private checkLive(): void {
    if (this.tornDown) throw new Error(`rig ${this.id} has been torn down`);
  }

  /** The host (namespace) called `name`, created on first use. */
  host(name: string): Promise<Host> {
    try {
      this.checkLive();
    } catch (e) {
      return Promise.reject(e);
    }
    const pending = this.hostPending.get(name);
    if (pending) return pending;
    if (!/^[A-Za-z0-9_-]+$/.test(name) || name === 'sw') return Promise.reject(new TypeError(`bad host name: ${name}`));
    const h = new Host(this, name, `${this.id}-${name}`, join(this.dir, name));
    const ready = (async () => {
      mkdirSync(h.dir, { recursive: true });
      await this.addNamespace(h.ns);
      if (this.opts.dad === false) {
        await this.ip(h.ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      }
      this.hostMap.set(name, h);
      return h;
    })();
    this.hostPending.set(name, ready);
    return ready;
  }

  hosts(): Host[] {
    return [...this.hostMap.values()];
  }

  private hostOf(h: Host | string): Host {
    const host = typeof h === 'string' ? this.hostMap.get(h) : h;
    if (!host || host.rig !== this) throw new Error(`no host ${typeof h === 'string' ? h : h.name} in rig ${this.id}`);
    return host;
  }

  /** Create a bridge in the switch namespace (link() creates missing ones too). */
  async bridge(name: string, opts: BridgeOptions = {}): Promise<string> {
    this.checkLive();
    if (this.bridgeSet.has(name)) return name;
    if (name.length > 15 || !/^[A-Za-z0-9_-]+$/.test(name)) throw new TypeError(`bad bridge name: ${name}`);
    await execa('ip', ['-n', this.switchNs, 'link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', opts.mcastSnooping ? '1' : '0']);
    await execa('ip', ['-n', this.switchNs, 'link', 'set', name, 'up']);
    this.bridgeSet.add(name);
    return name;
  }

  bridges(): string[] {
    return [...this.bridgeSet];
  }

  private portName(host: string, ifname: string): string {
    let base = `${host}-${ifname}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    if (base.length > 15) base = base.slice(0, 15);
    let name = base;
    for (let i = 1; this.portNames.has(name); i++) name = `${base.slice(0, 15 - String(i).length - 1)}_${i}`;
    this.portNames.add(name);
    return name;
  }

  /**
   * Cable `host`'s interface `ifname` to `bridge`: a veth pair created in the
   * switch namespace, the peer moved into the host namespace under `ifname`.
   */
  async link(h: Host | string, ifname: string, bridge: string, opts: LinkOptions = {}): Promise<Link> {
    this.checkLive();
    const host = this.hostOf(h);
    if (ifname.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(ifname)) throw new TypeError(`bad interface name: ${ifname}`);
    const key = `${host.name}/${ifname}`;
    if (this.linkMap.has(key)) throw new Error(`${key} is already linked`);
    await this.bridge(bridge);
    const port = this.portName(host.name, ifname);
    const peer = ['peer', 'name', ifname, ...(opts.mac ? ['address', opts.mac] : []), 'netns', host.ns];
    await execa('ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', ...peer]);
    await execa('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', bridge]);
    const link = new Link(this, host, ifname, bridge, port);
    this.linkMap.set(key, link);
    for (const a of opts.addresses ?? []) await host.addAddress(ifname, a);
    if (opts.up ?? true) {
      await execa('ip', ['-n', this.switchNs, 'link', 'set', port, 'up']);
      await execa('ip', ['-n', host.ns, 'link', 'set', ifname, 'up']);
    }
    return link;
  }

  /** Wait until no host has a tentative (DAD in progress) IPv6 address. */
  async settle(timeoutMs = 10_000): Promise<void> {
    await Promise.all(
      this.hosts().map((h) =>
        waitUntil(async () => (await h.succeed('ip', ['-6', 'addr', 'show', 'tentative'])).trim() === '', {
          timeoutMs,
          what: `${h.name}: IPv6 DAD to finish`,
        }),
      ),
    );
  }

  /**
   * A tap device on a bridge in the switch namespace, for a QEMU guest run
   * with `ip netns exec <rig.switchNs> qemu-system-x86_64 -netdev tap,ifname=NAME,script=no,downscript=no`.
   */
  async tap(bridge: string, name: string): Promise<string> {
    this.checkLive();
    if (name.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(name) || this.portNames.has(name)) throw new TypeError(`bad or duplicate tap name: ${name}`);
    await this.bridge(bridge);
    this.portNames.add(name);
    await execa('ip', ['-n', this.switchNs, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
    await execa('ip', ['-n', this.switchNs, 'link', 'set', name, 'master', bridge, 'up']);
    return name;
  }

  getLink(h: Host | string, ifname: string): Link {
    const host = this.hostOf(h);
    const l = this.linkMap.get(`${host.name}/${ifname}`);
    if (!l) throw new Error(`no link ${host.name}/${ifname}`);
    return l;
  }

  links(): Link[] {
    return [...this.linkMap.values()];
  }

  /** Cable pull: the bridge-side veth goes down, the host side loses carrier. */
  async linkDown(h: Host | string, ifname: string): Promise<void> {
    await this.getLink(h, ifname).down();
  }

  async linkUp(h: Host | string, ifname: string): Promise<void> {
    await this.getLink(h, ifname).up();
  }

  /** @internal */
  async setPort(port: string, state: 'up' | 'down'): Promise<void> {
    this.checkLive();
    await execa('ip', ['-n', this.switchNs, 'link', 'set', port, state]);
  }

  /** @internal bookkeeping for Host.spawn */
  recordProcess(p: RigProcess, rec: ProcRecord): void {
    this.processes.push(p);
    this.state.processes.push(rec);
    this.saveState();
  }

  /** @internal */
  forgetProcess(pid: number): void {
    const i = this.state.processes.findIndex((r) => r.pid === pid);
    if (i >= 0) {
      this.state.processes.splice(i, 1);
      this.saveState();
    }
  }

  /** Every PID this rig started (including exited ones), for assertions. */
  allPids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Concatenated output of every process, for failure reports. */
  logs(): string {
    return this.processes.map((p) => `--- ${p.host.name}: ${p.command} (pid ${p.pid}) ---\n${p.output}`).join('\n');
  }

  get isTornDown(): boolean {
    return this.tornDown;
  }

  private nsInodes(): Set<number> {
    const s = new Set<number>();
    for (const ns of this.state.namespaces) {
      const ino = netnsInode(ns);
      if (ino !== undefined) s.add(ino);
    }
    return s;
  }

  /** PIDs from declared pid files that are alive inside our namespaces. */
  private pidFilePids(inodes: Set<number>): number[] {
    const out: number[] = [];
    for (const p of this.processes) {
      for (const f of p.pidFiles) {
        const pid = readPidFile(f);
        if (pid === undefined || pid === process.pid) continue;
        const ino = pidNetnsInode(pid);
        if (ino !== undefined && inodes.has(ino) && pidAlive(pid)) out.push(pid);
      }
    }
    return out;
  }

  /**
   * Kill every process the rig started (SIGTERM, then SIGKILL after the grace
   * period), then anything still inside its namespaces, delete the
   * namespaces (veths and bridges go with them) and the state dir.
   * Idempotent; concurrent calls share one run.
   */
  teardown(): Promise<TeardownReport> {
    if (!this.teardownPromise) this.teardownPromise = this.doTeardown();
    return this.teardownPromise;
  }

  private async doTeardown(): Promise<TeardownReport> {
    const report: TeardownReport = { killed: [], stragglers: [], namespaces: [], errors: [] };
    if (this.tornDown) return report;
    const grace = this.opts.killTimeoutMs ?? 3000;
    const inodes = this.nsInodes();
    const pidFilePidsBefore = this.pidFilePids(inodes);
    const live = this.processes.filter((p) => p.running);
    for (const p of live) {
      if (p.signal('SIGTERM')) report.killed.push(p.pid);
    }
    await Promise.all(
      live.map(async (p) => {
        const done = await Promise.race([p.exited.then(() => true), sleep(grace).then(() => false)]);
        if (!done) {
          p.signal('SIGKILL');
          await Promise.race([p.exited, sleep(2000)]);
        }
      }),
    );
    // children that pid files told us about (e.g. keepalived's VRRP process)
    const extra = [...new Set([...pidFilePidsBefore, ...this.pidFilePids(inodes)])].filter((pid) => pidAlive(pid));
    for (const pid of extra) if (tryKill(pid, 'SIGTERM')) report.killed.push(pid);
    if (extra.length) {
      await waitUntil(() => extra.every((pid) => !pidAlive(pid)), { timeoutMs: grace, intervalMs: 50 }).catch(() => {
        for (const pid of extra) tryKill(pid, 'SIGKILL');
      });
    }
    // anything else still inside our namespaces (a daemon that forked)
    for (const ns of this.state.namespaces) {
      for (const pid of netnsPids(ns)) {
        report.stragglers.push(pid);
        this.log(`straggler pid ${pid} in ${ns}: SIGKILL`);
        tryKill(pid, 'SIGKILL');
      }
    }
    if (report.stragglers.length) {
      await waitUntil(() => report.stragglers.every((pid) => !pidAlive(pid)), { timeoutMs: 2000, intervalMs: 50 }).catch(() => {
        report.errors.push(`pids still alive: ${report.stragglers.filter((pid) => pidAlive(pid)).join(' ')}`);
      });
    }
    this.tornDown = true;
    liveRigs.delete(this);
    if (liveRigs.size === 0) uninstallHooks();
    for (const ns of [...this.state.namespaces].reverse()) {
      const r = await execa('ip', ['netns', 'del', ns], { reject: false });
      if (r.exitCode === 0) report.namespaces.push(ns);
      else if (existsSync(`/run/netns/${ns}`)) report.errors.push(`ip netns del ${ns}: ${String(r.stderr)}`);
    }
    this.removeDir();
    if (report.errors.length) this.log(`teardown problems: ${report.errors.join('; ')}`);
    return report;
  }

  private removeDir(): void {
    if (process.env.CARPENTER_RIG_KEEP_LOGS) {
      rmSync(join(this.dir, 'state.json'), { force: true });
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous teardown for process 'exit' and signals: SIGTERM, short grace, SIGKILL. */
  teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    liveRigs.delete(this);
    const inodes = this.nsInodes();
    const pids = [...new Set([...this.processes.filter((p) => p.running).map((p) => p.pid), ...this.pidFilePids(inodes)])];
    for (const pid of pids) tryKill(pid, 'SIGTERM');
    const deadline = Date.now() + Math.min(this.opts.killTimeoutMs ?? 3000, 1500);
    while (Date.now() < deadline && pids.some((pid) => pidAlive(pid))) sleepSync(20);
    for (const pid of pids) if (pidAlive(pid)) tryKill(pid, 'SIGKILL');
    for (const ns of this.state.namespaces) for (const pid of netnsPids(ns)) tryKill(pid, 'SIGKILL');
    for (const ns of [...this.state.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns]);
    this.removeDir();
  }
}

export class Link {
  readonly rig: Rig;
  readonly host: Host;
  readonly ifname: string;
  readonly bridge: string;
  /** Name of the bridge-side veth in the switch namespace. */
  readonly port: string;
  private upState = true;

  /** @internal */
  constructor(rig: Rig, host: Host, ifname: string, bridge: string, port: string) {
    this.rig = rig;
    this.host = host;
    this.ifname = ifname;
    this.bridge = bridge;
    this.port = port;
  }

  get isUp(): boolean {
    return this.upState;
  }

  /** Pull the cable (bridge side down: the host side sees NO-CARRIER). */
  async down(): Promise<void> {
    await this.rig.setPort(this.port, 'down');
    this.upState = false;
  }

  /** Plug it back in. */
  async up(): Promise<void> {
    await this.rig.setPort(this.port, 'up');
    this.upState = true;
  }
}

export class Host {
  readonly rig: Rig;
  readonly name: string;
  /** The network namespace's name (for `ip netns exec`). */
  readonly ns: string;
  /** Per-host scratch directory (configs, pid files, logs). */
  readonly dir: string;

  /** @internal */
  constructor(rig: Rig, name: string, ns: string, dir: string) {
    this.rig = rig;
    this.name = name;
    this.ns = ns;
    this.dir = dir;
  }

  /** argv to run `cmd args` (or a shell script) inside this namespace. */
  argv(cmd: string, args?: readonly string[]): string[] {
    return args === undefined ? ['netns', 'exec', this.ns, 'sh', '-c', cmd] : ['netns', 'exec', this.ns, cmd, ...args];
  }

  /**
   * Run a command in the namespace. `exec('ping -c1 x')` runs a shell script;
   * `exec('ping', ['-c1', 'x'])` runs argv directly. Never throws for a
   * non-zero exit.
   */
  async exec(cmd: string, args?: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const command = args === undefined ? cmd : quote([cmd, ...args]);
    const r = await execa('ip', this.argv(cmd, args), {
      reject: false,
      timeout: opts.timeoutMs ?? 30_000,
      extendEnv: false,
      env: childEnv(opts.env),
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    });
    return {
      command,
      exitCode: typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 255,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? '') + (r.timedOut ? `\n(timed out after ${opts.timeoutMs ?? 30_000} ms)` : ''),
    };
  }

  /** Run and require exit status 0; returns stdout. */
  async succeed(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.exec(cmd, args, opts);
    if (r.exitCode !== 0) {
      throw new Error(`${this.name}: \`${r.command}\` failed with status ${r.exitCode}\n${r.stdout}\n${r.stderr}`.trimEnd());
    }
    return r.stdout;
  }

  /** Run and require a non-zero exit status; returns stdout+stderr. */
  async fail(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.exec(cmd, args, opts);
    if (r.exitCode === 0) throw new Error(`${this.name}: \`${r.command}\` unexpectedly succeeded\n${r.stdout}`.trimEnd());
    return `${r.stdout}${r.stderr}`;
  }

  /** Retry until the command succeeds (default 10 s); returns its stdout. */
  waitUntilSucceeds(cmd: string, timeoutMs?: number): Promise<string>;
  waitUntilSucceeds(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  async waitUntilSucceeds(cmd: string, a?: readonly string[] | number, b?: number): Promise<string> {
    const args = typeof a === 'number' ? undefined : a;
    const timeoutMs = typeof a === 'number' ? a : (b ?? 10_000);
    let last: ExecResult | undefined;
    try {
      return await waitUntil(
        async () => {
          last = await this.exec(cmd, args, { timeoutMs: Math.max(1000, timeoutMs) });
          return last.exitCode === 0 ? last.stdout : false;
        },
        { timeoutMs, intervalMs: 100, what: `${this.name}: \`${args ? quote([cmd, ...args]) : cmd}\` to succeed` },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast: status ${last?.exitCode}\n${last?.stdout ?? ''}${last?.stderr ?? ''}`.trimEnd());
    }
  }

  /** Retry until the command fails (default 10 s). */
  waitUntilFails(cmd: string, timeoutMs?: number): Promise<void>;
  waitUntilFails(cmd: string, args: readonly string[], timeoutMs?: number): Promise<void>;
  async waitUntilFails(cmd: string, a?: readonly string[] | number, b?: number): Promise<void> {
    const args = typeof a === 'number' ? undefined : a;
    const timeoutMs = typeof a === 'number' ? a : (b ?? 10_000);
    await waitUntil(async () => (await this.exec(cmd, args, { timeoutMs: Math.max(1000, timeoutMs) })).exitCode !== 0, {
      timeoutMs,
      intervalMs: 100,
      what: `${this.name}: \`${args ? quote([cmd, ...args]) : cmd}\` to fail`,
    });
  }

  /**
   * Start a long-running process in the namespace. `ip netns exec` execs the
   * command in place, so the recorded PID is the command's own. Output goes
   * to `<dir>/<name>.<pid>.log` and to `proc.output`.
   */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): RigProcess {
    if (this.rig.isTornDown) throw new Error(`rig ${this.rig.id} has been torn down`);
    const child = execa('ip', this.argv(cmd, args), {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      extendEnv: false,
      env: childEnv(opts.env),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${this.name}: could not spawn ${cmd}`);
    const label = (opts.name ?? cmd.split('/').pop() ?? cmd).replace(/[^\w.-]/g, '_');
    const proc = new RigProcess(this, child, pid, quote([cmd, ...args]), join(this.dir, `${label}.${pid}.log`), opts.pidFiles ?? []);
    this.rig.recordProcess(proc, {
      pid,
      start: procStartTime(pid) ?? '',
      host: this.name,
      cmd: proc.command,
      ...(opts.pidFiles ? { pidFiles: opts.pidFiles } : {}),
    });
    void proc.exited.then(() => this.rig.forgetProcess(pid));
    return proc;
  }

  /** Write a file into this host's scratch dir; returns its absolute path. */
  writeFile(name: string, content: string, mode = 0o644): string {
    const p = join(this.dir, name);
    writeFileSync(p, content, { mode });
    return p;
  }

  /** `ip addr add` (IPv6 with nodad, so it is usable at once). */
  async addAddress(ifname: string, cidr: string, opts: { nodad?: boolean } = {}): Promise<void> {
    const v6 = cidr.includes(':');
    await this.succeed('ip', ['addr', 'add', cidr, 'dev', ifname, ...(v6 && (opts.nodad ?? true) ? ['nodad'] : [])]);
  }

  async sysctl(key: string, value: string | number): Promise<void> {
    await this.succeed('sysctl', ['-qw', `${key}=${value}`]);
  }

  /** Administrative up/down of an interface inside this host (not a cable pull). */
  async setLink(ifname: string, state: 'up' | 'down'): Promise<void> {
    await this.succeed('ip', ['link', 'set', ifname, state]);
  }

  /** Addresses on an interface, e.g. ['192.168.1.2/24', 'fe80::.../64']. */
  async addresses(ifname: string): Promise<string[]> {
    const out = await this.succeed('ip', ['-j', 'addr', 'show', 'dev', ifname]);
    const j = JSON.parse(out) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
    // (ip -j prints {} for addresses a filter dropped)
    return (j[0]?.addr_info ?? []).filter((a) => a.local !== undefined).map((a) => `${a.local}/${a.prefixlen}`);
  }

  async hasAddress(ifname: string, address: string): Promise<boolean> {
    const addr = address.split('/')[0];
    return (await this.addresses(ifname)).some((a) => a.split('/')[0] === addr);
  }
}

export class RigProcess {
  readonly host: Host;
  readonly pid: number;
  readonly command: string;
  readonly logFile: string;
  readonly pidFiles: string[];
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  private out = '';
  private runningState = true;
  private readonly waiters = new Set<() => void>();
  private readonly stream: WriteStream;

  /** @internal */
  constructor(host: Host, child: ResultPromise, pid: number, command: string, logFile: string, pidFiles: string[]) {
    this.host = host;
    this.pid = pid;
    this.command = command;
    this.logFile = logFile;
    this.pidFiles = pidFiles;
    this.stream = createWriteStream(logFile);
    const onData = (chunk: Buffer | string): void => {
      const s = chunk.toString();
      this.stream.write(s);
      this.out += s;
      if (this.out.length > 4_000_000) this.out = this.out.slice(-2_000_000);
      for (const w of [...this.waiters]) w();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = child.then((r) => {
      this.runningState = false;
      this.stream.end();
      for (const w of [...this.waiters]) w();
      return {
        exitCode: typeof r.exitCode === 'number' ? r.exitCode : undefined,
        signal: r.signal ?? undefined,
      };
    });
  }

  get running(): boolean {
    return this.runningState;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.out;
  }

  /** Send a signal to exactly this PID (if it is still the process we started). */
  signal(sig: NodeJS.Signals = 'SIGTERM'): boolean {
    if (!this.runningState) return false;
    return tryKill(this.pid, sig);
  }

  /** Signal and wait for the exit. */
  async kill(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    this.signal(sig);
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!done) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  /** Wait until the output matches `re` (or the process exits: throws). */
  waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.out.match(re);
        if (m) {
          cleanup();
          resolve(m);
        } else if (!this.runningState) {
          cleanup();
          reject(new Error(`${this.host.name}: ${this.command} exited before printing ${String(re)}\n${this.out}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.host.name}: ${this.command}: no ${String(re)} within ${timeoutMs} ms\n${this.out}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

/* ------------------------------------------------------------------ sweep */

export interface SweepReport {
  killed: number[];
  namespaces: string[];
  dirs: string[];
  /** PIDs found in stale namespaces but not recorded in a state file (not killed). */
  unrecorded: Array<{ ns: string; pids: number[] }>;
}

/**
 * Remove leftovers of earlier crashed runs whose ids start with `prefix`:
 * kills the PIDs their state files recorded (only if still the same process,
 * by start time), deletes their namespaces and state dirs. Rigs whose owning
 * process is still alive (a concurrent test run) are left alone. Namespaces
 * with the prefix but no state file are deleted when the PID in their name is
 * dead; processes are never looked up by name.
 */
export function sweepStale(prefix: string = DEFAULT_PREFIX, opts: { baseDir?: string } = {}): SweepReport {
  const report: SweepReport = { killed: [], namespaces: [], dirs: [], unrecorded: [] };
  const base = opts.baseDir ?? defaultBaseDir();
  const handled = new Set<string>();
  const ownerAlive = (pid: number, start?: string): boolean => pid === process.pid || pidAlive(pid, start || undefined);

  let dirs: string[] = [];
  try {
    dirs = readdirSync(base).filter((d) => d.startsWith(prefix));
  } catch {
    /* no base dir */
  }
  for (const d of dirs) {
    const dir = join(base, d);
    let state: RigState | undefined;
    try {
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RigState;
    } catch {
      state = undefined;
    }
    const owner = state?.ownerPid ?? Number.parseInt(d.slice(prefix.length), 10);
    if (Number.isInteger(owner) && ownerAlive(owner, state?.ownerStart)) continue;
    for (const rec of state?.processes ?? []) {
      if (pidAlive(rec.pid, rec.start || undefined)) {
        tryKill(rec.pid, 'SIGKILL');
        report.killed.push(rec.pid);
      }
    }
    for (const ns of state?.namespaces ?? []) {
      handled.add(ns);
      if (existsSync(`/run/netns/${ns}`)) {
        const left = netnsPids(ns).filter((p) => !report.killed.includes(p));
        if (left.length) report.unrecorded.push({ ns, pids: left });
        spawnSync('ip', ['netns', 'del', ns]);
        report.namespaces.push(ns);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    report.dirs.push(dir);
  }
  for (const ns of listNamespaces(prefix)) {
    if (handled.has(ns)) continue;
    const owner = Number.parseInt(ns.slice(prefix.length), 10);
    if (!Number.isInteger(owner) || ownerAlive(owner)) continue;
    const left = netnsPids(ns);
    if (left.length) report.unrecorded.push({ ns, pids: left });
    spawnSync('ip', ['netns', 'del', ns]);
    report.namespaces.push(ns);
  }
  return report;
}

/**
 * Run `fn` with a fresh rig; on failure the processes' output is appended to
 * the error, and the rig is always torn down.
 */
export async function withRig<T>(name: string, fn: (rig: Rig) => Promise<T>, opts: RigOptions = {}): Promise<T> {
  const rig = await Rig.create(name, opts);
  try {
    return await fn(rig);
  } catch (e) {
    const logs = rig.logs();
    if (e instanceof Error && logs) e.message += `\n\n=== rig process output ===\n${logs}`;
    throw e;
  } finally {
    await rig.teardown();
  }
}

/** `ip netns exec NS cmd...` synchronously, for quick probes outside a Host. */
export function nsExecSync(ns: string, argv: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
}
