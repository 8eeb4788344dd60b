/**
 * The state-sync rig: carpd with its dataplane (nftables, NAT, conntrackd) on
 * fw1/fw2 of test/rig/topology.ts, the sessions tool between the client and
 * the upstream host, and the moves of a failover test.
 *
 *   const site = natSite();                          // LAN + WAN VIPs (VRRPv3, 100 ms), LAN -> WAN VIP outbound NAT
 *   const [c1, c2] = await startPair(fw1, fw2, site); // fw1 MASTER, fw2 BACKUP with the table
 *   const server = startSessionsServer(upstream);    // echo + bulk on 203.0.113.10:7000
 *   const probe = startProbe(client, { seconds: 20, bulkMb: 40, bulkMbps: 40 });
 *   await deadBox(rig, c1);                          // SIGKILL carpd, all links down
 *   const report = await probe.result();             // sessionsLost, bulk.complete, ...
 *   await serverSources(server);                     // the addresses the upstream saw
 *   const udp = startUdpServer(upstream);            // UDP echo on 203.0.113.10:5353 (helpers/udp-flows.ts)
 *   const flows = startUdpFlows(client, { seconds: 12 }); // DNS-style queries + one fixed-port flow
 *   (await flows.result()).timeline;                 // answered per second
 *   await c2.conntrackd(['-e']);                     // a conntrackd client command on the node's daemon
 *
 * VRRPv3 at 100 ms keeps each failover (and so the suite) short; CARP takes
 * the same path through the dataplane, only later.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSite } from '../../src/config/index.js';
import { conntrackdPaths, planDataplane, type ConntrackdPaths } from '../../src/agent/dataplane/plan.js';
import { applyRuleset, applySysctls } from '../../src/agent/firewall/index.js';
import type { DataplaneStatus } from '../../src/agent/dataplane/service.js';
import { runConntrackd, type ConntrackdResult } from '../../src/agent/statesync/index.js';
import type { UdpReport } from './helpers/udp-flows.js';
import { Carpd, VIPS, carpdAddon, rigSite, waitStates } from './carpd.js';
import { type Host, type Rig, type RigProcess, waitUntil } from './netns.js';
import { HA } from './topology.js';

export const SESSIONS = fileURLToPath(new URL('../../src/lab/tools/sessions.js', import.meta.url));
export const UDP_FLOWS = fileURLToPath(new URL('./helpers/udp-flows.js', import.meta.url));

/** Where the upstream host serves the sessions tool and the UDP responder. */
export const UPSTREAM = { sessions: `${HA.upstream.WAN[0].split('/')[0]}:7000`, udp: `${HA.upstream.WAN[0].split('/')[0]}:5353` };

/** LAN and WAN VIPs (VRRPv3, 100 ms) and the example's outbound NAT of the LAN to the WAN VIP. */
export function natSite(opts: { preempt?: boolean } = {}): string {
  return rigSite(
    [
      { ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100 },
      { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100 },
    ],
    opts,
  );
}

/** carpd with its whole dataplane (nftables, NAT, conntrackd) in a rig host. */
export class DataplaneCarpd extends Carpd {
  constructor(host: Host, node: string, site: string, env: Record<string, string>) {
    super(host, node, site, env);
    this.firewall = true;
    this.stateSync = true;
  }

  async dataplane(): Promise<DataplaneStatus> {
    const s = (await this.status()) as { dataplane?: DataplaneStatus };
    assert.ok(s.dataplane, `${this.node}: no dataplane in carpd status`);
    return s.dataplane;
  }

  /** The state-sync part of the status (fails when state sync is off). */
  async syncState(): Promise<Extract<DataplaneStatus['stateSync'], { enabled: true }>> {
    const s = (await this.dataplane()).stateSync;
    assert.ok(s.enabled, `${this.node}: state sync is off: ${s.enabled ? '' : s.reason}`);
    return s;
  }

  /** A conntrackd client command (`-s`, `-e`, ...) on this node's daemon, through its socket. */
  conntrackd(args: readonly string[]): Promise<ConntrackdResult> {
    return runConntrackd(args, conntrackdPaths(this.stateDir).socket);
  }
}

export async function startNode(host: Host, node: string, site: string): Promise<DataplaneCarpd> {
  return new DataplaneCarpd(host, node, site, { CARPD_ADDON: await carpdAddon() }).start();
}

/** fw1 MASTER and fw2 BACKUP of both VIPs, fw2 no longer holding off (it has fw1's table). */
export async function startPair(fw1: Host, fw2: Host, site: string): Promise<[DataplaneCarpd, DataplaneCarpd]> {
  const c1 = await startNode(fw1, 'fw1', site);
  for (const vip of ['lan', 'wan']) await waitStates([c1], vip, { fw1: 'MASTER' });
  const c2 = await startNode(fw2, 'fw2', site);
  for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
  await waitHoldoffReleased(c2);
  return [c1, c2];
}

export async function waitHoldoffReleased(c: DataplaneCarpd, timeoutMs = 10_000): Promise<void> {
  await waitUntil(async () => !(await c.syncState()).holdoff.active, { timeoutMs, intervalMs: 100, what: `${c.node}: holdoff released` });
}

/** Wait until `c`'s external cache (the peer's states) holds at least `n` entries. */
export async function waitExternal(c: DataplaneCarpd, n: number, timeoutMs = 10_000): Promise<number> {
  let seen: number | null = null;
  return waitUntil(
    async () => {
      seen = (await c.syncState()).cache.external;
      return seen !== null && seen >= n ? seen : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `${c.node}: ${n} entries in the external cache (seen ${String(seen)})` },
  );
}

/** A dead box: carpd SIGKILLed, then every cable pulled (its conntrackd is left running, cut off). */
export async function deadBox(rig: Rig, c: Carpd): Promise<void> {
  await c.crash();
  for (const ifname of ['WAN', 'LAN', 'SYNC']) await rig.linkDown(c.host, ifname);
}

/**
 * The dead box boots again: its conntrack table and ruleset are gone (wiped
 * here, as a reboot would), cables back in, carpd started. The conntrackd
 * the killed carpd left running is stopped by the new one (its pid file).
 */
export async function revive(rig: Rig, c: Carpd): Promise<void> {
  await c.host.succeed('sh', ['-c', 'conntrack -F 2>/dev/null; nft flush ruleset']);
  for (const ifname of ['WAN', 'LAN', 'SYNC']) await rig.linkUp(c.host, ifname);
  await c.start();
}

// ---- bare conntrackd ------------------------------------------------------------

/**
 * conntrackd without carpd, for side-by-side figures: the node's dataplane
 * exactly as carpd plans it (planDataplane: router sysctls, the nftables
 * ruleset with its NAT, conntrackd.conf from renderConntrackdConf), applied
 * by hand, and conntrackd run in the foreground with that config. No
 * election: `vips` puts the site's VIP addresses on the ports themselves
 * (the static master); nothing drives conntrackd but the caller.
 */
export class BareConntrackd {
  proc!: RigProcess;
  readonly paths: ConntrackdPaths;

  private constructor(readonly host: Host, readonly node: string) {
    this.paths = bareDir(host, node);
  }

  static async start(host: Host, node: string, siteText: string, opts: { vips?: boolean } = {}): Promise<BareConntrackd> {
    const site = parseSite(siteText, 'bare-site.ini');
    const paths = bareDir(host, node);
    const plan = planDataplane(site, node, { paths });
    assert.ok(plan.conntrackd !== null, 'the site syncs no state');
    const nft = { netns: host.ns };
    const failed = (rs: Awaited<ReturnType<typeof applySysctls>>) => rs.filter((r) => !r.ok).map((r) => `${r.sysctl.path}: ${r.error ?? ''}`);
    assert.deepEqual(failed(await applySysctls(plan.sysctlsBefore, { ...nft, skipHostScope: true })), []);
    const applied = await applyRuleset(plan.ruleset, nft);
    assert.ok(applied.applied, `${node}: ruleset refused: ${applied.message}`);
    assert.deepEqual(failed(await applySysctls(plan.sysctlsAfter, { ...nft, skipHostScope: true })), []);
    if (opts.vips) for (const v of site.vips) await host.addAddress(v.interface, v.address);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await writeFile(paths.conf, plan.conntrackd, { mode: 0o600 });
    return new BareConntrackd(host, node).run();
  }

  /** (Re)start the daemon and wait until it answers on its socket. */
  async run(): Promise<this> {
    await rm(this.paths.lockFile, { force: true });
    await rm(this.paths.socket, { force: true });
    this.proc = this.host.spawn('conntrackd', ['-C', this.paths.conf], { name: `conntrackd-${this.node}` });
    await waitUntil(async () => (await this.conntrackd(['-s'])).ok, { timeoutMs: 5000, intervalMs: 50, what: `${this.node}: bare conntrackd to answer` });
    return this;
  }

  async stop(): Promise<void> {
    await this.proc.kill('SIGTERM');
  }

  conntrackd(args: readonly string[]): Promise<ConntrackdResult> {
    return runConntrackd(args, this.paths.socket);
  }
}

function bareDir(host: Host, node: string): ConntrackdPaths {
  return conntrackdPaths(join(host.dir, `bare-${node}`));
}

// ---- traffic ----------------------------------------------------------------------

export function startSessionsServer(upstream: Host): RigProcess {
  return upstream.spawn('node', [SESSIONS, 'serve', '--listen', `0.0.0.0:${UPSTREAM.sessions.split(':')[1]}`], { name: 'sessions-serve' });
}

export interface ServerReport {
  /** Source addresses (both servers). */
  sources: string[];
  /** "address:port" sources (the UDP server). */
  peers?: string[];
  /** "address:port" the UDP server's long-lived flow came from. */
  flowPeers?: string[];
}

/** What a server (sessions or UDP) saw so far (it prints a JSON line on SIGUSR1). */
export async function serverReport(server: RigProcess): Promise<ServerReport> {
  const before = server.output.length;
  server.signal('SIGUSR1');
  await waitUntil(async () => /\{"sources"/.test(server.output.slice(before)) || undefined, { timeoutMs: 5000, what: 'the server\'s source report' });
  const line = server.output.slice(before).split('\n').find((l) => l.startsWith('{"sources"'));
  const r = JSON.parse(line ?? '{}') as Partial<ServerReport>;
  return { ...r, sources: r.sources ?? [] };
}

/** The source addresses a server saw so far. */
export async function serverSources(server: RigProcess): Promise<string[]> {
  return (await serverReport(server)).sources;
}

/** The JSON report line (starting with `prefix`) a tool printed before exiting 0. */
async function finalReport<T>(proc: RigProcess, prefix: string, what: string): Promise<T> {
  const { exitCode } = await proc.exited;
  assert.equal(exitCode, 0, `${what} failed:\n${proc.output}`);
  const line = proc.output.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line, `${what} printed no report:\n${proc.output}`);
  return JSON.parse(line) as T;
}

export interface ProbeReport {
  sessionsTotal: number;
  sessionsLost: number;
  lostReasons: Record<string, number>;
  maxStallMs: number;
  messagesSent: number;
  messagesEchoed: number;
  bulk: { bytes: number; received: number; complete: boolean; sha256: string; expected: string; error: string; seconds: number };
}

export interface Probe {
  proc: RigProcess;
  /** Resolves when the probe has opened its sessions and they echo. */
  established(): Promise<void>;
  result(): Promise<ProbeReport>;
}

export function startProbe(client: Host, o: { conns?: number; intervalMs?: number; seconds: number; bulkMb: number; bulkMbps: number; target?: string }): Probe {
  const conns = o.conns ?? 200;
  const proc = client.spawn(
    'node',
    [SESSIONS, 'probe', '--target', o.target ?? UPSTREAM.sessions, '--conns', String(conns), '--interval', String(o.intervalMs ?? 100), '--duration', String(o.seconds), '--bulk-mb', String(o.bulkMb), '--bulk-mbps', String(o.bulkMbps), '--json'],
    { name: 'sessions-probe' },
  );
  return {
    proc,
    async established() {
      // (With a download, also wait until it is flowing.)
      await proc.waitForOutput(new RegExp(`sessions: ${conns}/${conns} alive, bulk ${o.bulkMb > 0 ? '[1-9]' : ''}`), 20_000);
    },
    result: () => finalReport<ProbeReport>(proc, '{"target"', 'probe'),
  };
}

/** The UDP echo server of helpers/udp-flows.ts on the upstream host (UPSTREAM.udp). */
export function startUdpServer(upstream: Host): RigProcess {
  return upstream.spawn('node', [UDP_FLOWS, 'serve', '--listen', `0.0.0.0:${UPSTREAM.udp.split(':')[1]}`], { name: 'udp-serve' });
}

export interface UdpFlows {
  proc: RigProcess;
  /** Resolves once the run has begun (its fixed-port flow is bound). */
  running(): Promise<void>;
  result(): Promise<UdpReport>;
}

/** DNS-style queries (a fresh socket each) plus one long-lived flow from a fixed port, every `intervalMs`. */
export function startUdpFlows(client: Host, o: { seconds: number; intervalMs?: number; sport?: number; target?: string }): UdpFlows {
  const proc = client.spawn(
    'node',
    [UDP_FLOWS, 'run', '--target', o.target ?? UPSTREAM.udp, '--duration', String(o.seconds), '--interval', String(o.intervalMs ?? 50), '--sport', String(o.sport ?? 40053)],
    { name: 'udp-flows' },
  );
  return {
    proc,
    async running() {
      await proc.waitForOutput(/udp-flows: running/, 10_000);
    },
    result: () => finalReport<UdpReport>(proc, '{"startedAt"', 'udp-flows'),
  };
}


