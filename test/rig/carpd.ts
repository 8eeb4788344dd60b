/**
 * carpd in the namespace rig: the real compiled agent (`node dist/src/agent/main.js run`)
 * in a rig host, its site file generated from the example build/sites/ha-pair.ini.
 *
 *   const site = rigSite([{ name: 'lan', interface: 'LAN', address: '192.168.1.1/24', vhid: 1 }]);
 *   const c1 = await startCarpd(fw1, 'fw1', site);       // waits for its "ready" line
 *   await c1.status();                                    // `carpd status --json` over the control socket
 *   await c1.cli(['maintenance', 'enter']);               // the CLI, run inside the namespace
 *   await c1.crash(); await c1.restart();                 // SIGKILL / start again with the same state dir
 *   await vipHolders([fw1, fw2], '192.168.1.1');          // who holds the VIP on an interface that is up
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSite, siteToIni } from '../../src/config/index.js';
import type { Site, VipDef } from '../../src/config/types.js';
import { callControl } from '../../src/agent/control.js';
import type { StatusView } from '../../src/agent/status-view.js';
import { buildAddon, defaultOutDir, repoRoot } from '../../src/native/build.js';
import { type Host, type RigProcess, sleep, waitUntil } from './netns.js';

export const CARPD_MAIN = fileURLToPath(new URL('../../src/agent/main.js', import.meta.url));

export interface RigVip {
  name: string;
  interface: string;
  address: string;
  vhid: number;
  protocol?: 'carp' | 'vrrp3';
  advbase?: number;
  intervalMs?: number;
  advskew?: number;
  password?: string;
  unicast?: boolean;
}

/** The rig's standard VIPs (addresses of test/rig/topology.ts HA.vip). */
export const VIPS = {
  lan: { name: 'lan', interface: 'LAN', address: '192.168.1.1/24', vhid: 1 },
  wan: { name: 'wan', interface: 'WAN', address: '203.0.113.1/24', vhid: 49 },
  lan6: { name: 'lan6', interface: 'LAN', address: '2001:db8:0:2::1/64', vhid: 2 },
  wan6: { name: 'wan6', interface: 'WAN', address: '2001:db8:0:1::1/64', vhid: 50 },
} satisfies Record<string, RigVip>;

/**
 * A site for the rig: the example's cluster, nodes (fw1 .2, fw2 .3, as the
 * rig's topology), rules and users, with these VIPs. Gateways point at the
 * upstream host; NAT, DHCP and DNS sections stay only if the VIPs they name exist.
 */
export function rigSite(vips: RigVip[], opts: { preempt?: boolean; secondarySkewOffset?: number; configSync?: boolean } = {}): string {
  const example = readFileSync(join(repoRoot(), 'build/sites/ha-pair.ini'), 'utf8');
  const site: Site = parseSite(example, 'ha-pair.ini');
  site.cluster.preempt = opts.preempt ?? true;
  if (opts.secondarySkewOffset !== undefined) site.cluster.secondarySkewOffset = opts.secondarySkewOffset;
  if (opts.configSync === false) site.sync.configSync = false;
  site.gateways = site.gateways.map((g) => ({ ...g, address: g.address.includes(':') ? '2001:db8:0:1::10' : '203.0.113.10' }));
  site.vips = vips.map((v): VipDef => {
    const protocol = v.protocol ?? 'carp';
    const d: VipDef = { name: v.name, interface: v.interface, address: v.address, vhid: v.vhid, protocol, advbase: v.advbase ?? 1, advskew: v.advskew ?? 0 };
    if (protocol === 'carp') d.password = v.password ?? 'rig-secret';
    else d.intervalMs = v.intervalMs ?? 100;
    if (v.unicast) d.unicast = true;
    return d;
  });
  const names = new Set(vips.map((v) => `vip:${v.name}`));
  site.nat = site.nat.filter((n) => names.has(n.translate));
  site.dhcp = site.dhcp.filter((d) => names.has(d.gateway) && d.dns.every((x) => !x.startsWith('vip:') || names.has(x)));
  site.dns = site.dns.filter(() => names.has('vip:lan'));
  const text = siteToIni(site);
  parseSite(text, 'rig-site.ini'); // validates
  return text;
}

let addonPath: Promise<string> | undefined;
/** Build (once per process) the raw-socket addon carpd loads. */
export function carpdAddon(): Promise<string> {
  addonPath ??= buildAddon(defaultOutDir());
  return addonPath;
}

export type CarpdStatus = StatusView & { carp: NonNullable<StatusView['carp']> };

export class Carpd {
  proc!: RigProcess;
  readonly stateDir: string;
  readonly siteFile: string;

  /** Load the site's nftables firewall (off by default here: these tests are about the election). */
  firewall = false;
  /** Run conntrackd (off by default here: its resync holdoff would move the priorities these tests check). */
  stateSync = false;

  constructor(readonly host: Host, readonly node: string, site: string, readonly env: Record<string, string>) {
    // A new Carpd is a node fresh from the factory: it starts from `site`, not
    // from a config an earlier carpd of the same host stored. (start() again
    // on the same Carpd is a restart and keeps the state dir.)
    this.stateDir = join(host.dir, `carpd-${node}`);
    rmSync(this.stateDir, { recursive: true, force: true });
    mkdirSync(this.stateDir, { recursive: true });
    this.siteFile = host.writeFile(`site-${node}.ini`, site);
  }

  get socket(): string {
    return join(this.stateDir, 'carpd.sock');
  }

  /** Start `carpd run` and wait for its ready line. */
  async start(): Promise<this> {
    // The election tests drive traffic the example site's firewall (WAN default deny) would drop.
    const firewall = [...(this.firewall ? [] : ['--no-firewall']), ...(this.stateSync ? [] : ['--no-state-sync'])];
    this.proc = this.host.spawn('node', [CARPD_MAIN, 'run', '--site', this.siteFile, '--node', this.node, '--state-dir', this.stateDir, ...firewall], {
      name: `carpd-${this.node}`,
      env: this.env,
    });
    await this.proc.waitForOutput(/ready version=/, 15_000);
    return this;
  }

  async status(): Promise<CarpdStatus> {
    const r = await callControl(this.socket, { cmd: 'status' });
    assert.ok(r.ok, `status of ${this.node}: ${r.ok ? '' : r.error}`);
    return r.status as CarpdStatus;
  }

  /** The VIP's view in `carpd status --json`. */
  async vip(name: string): Promise<CarpdStatus['vips'][number]> {
    const v = (await this.status()).vips.find((x) => x.name === name);
    assert.ok(v, `${this.node} has no vip ${name}`);
    return v;
  }

  async state(name: string): Promise<string | undefined> {
    return (await this.vip(name)).state;
  }

  /** Run the carpd CLI inside the namespace (e.g. ['maintenance', 'enter']); returns stdout. */
  async cli(args: string[]): Promise<string> {
    return this.host.succeed('node', [CARPD_MAIN, ...args, '--state-dir', this.stateDir], { env: this.env });
  }

  /** Die like a crashed daemon (the dead-man switch releases its VIPs). */
  async crash(): Promise<void> {
    this.proc.signal('SIGKILL');
    await this.proc.exited;
  }

  /** Graceful stop (SIGTERM: resign, release). */
  async stop(): Promise<void> {
    await this.proc.kill('SIGTERM');
  }

  async restart(): Promise<this> {
    if (this.proc.running) await this.stop();
    return this.start();
  }
}

export async function startCarpd(host: Host, node: string, site: string): Promise<Carpd> {
  const addon = await carpdAddon();
  return new Carpd(host, node, site, { CARPD_ADDON: addon }).start();
}

/** Which hosts hold `address` on an interface that is up (carpd: the VIP's macvlan; ucarp/keepalived: the port). */
export async function vipHolders(hosts: Host[], address: string): Promise<Host[]> {
  const addr = address.split('/')[0];
  const has = await Promise.all(
    hosts.map(async (h) => {
      const j = JSON.parse(await h.succeed('ip', ['-j', 'addr', 'show', 'up'])) as Array<{ addr_info?: Array<{ local?: string }> }>;
      return j.some((i) => (i.addr_info ?? []).some((a) => a.local === addr));
    }),
  );
  return hosts.filter((_, i) => has[i]);
}

/**
 * Wait until exactly one host holds the VIP, and keeps holding it alone for
 * `stableMs` (default 1 s); returns it. With `expect`, it must be that one.
 */
export async function waitHolder(hosts: Host[], address: string, opts: { expect?: Host; timeoutMs?: number; stableMs?: number } = {}): Promise<Host> {
  let last: Host[] = [];
  return waitUntil(
    async () => {
      last = await vipHolders(hosts, address);
      if (last.length !== 1 || (opts.expect && last[0] !== opts.expect)) return undefined;
      const only = last[0] as Host;
      const until = Date.now() + (opts.stableMs ?? 1000);
      while (Date.now() < until) {
        await sleep(100);
        last = await vipHolders(hosts, address);
        if (last.length !== 1 || last[0] !== only) return undefined;
      }
      return only;
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 100, what: `a single holder of ${address}${opts.expect ? ` (${opts.expect.name})` : ''}, last [${last.map((h) => h.name).join(', ')}]` },
  );
}

/** Wait until each carpd reports the given state for the VIP (e.g. { fw1: 'MASTER', fw2: 'BACKUP' }). */
export async function waitStates(nodes: Carpd[], vip: string, want: Record<string, string>, timeoutMs = 15_000): Promise<void> {
  let seen: Record<string, string | undefined> = {};
  await waitUntil(
    async () => {
      seen = Object.fromEntries(await Promise.all(nodes.map(async (n) => [n.node, await n.state(vip)] as const)));
      return Object.entries(want).every(([k, v]) => seen[k] === v);
    },
    { timeoutMs, intervalMs: 100, what: `${vip}: ${JSON.stringify(want)} (seen ${JSON.stringify(seen)})` },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; seen ${JSON.stringify(seen)}`);
  });
}

/**
 * Watch for a split brain: samples every carpd's state for `vips` every
 * `everyMs` until stopped; returns the moments more than one node claimed
 * MASTER in two samples in a row. (A preempt or a takeover legitimately
 * overlaps for the few milliseconds between the new master's first advert
 * and the old one hearing it, as in carp(4); a split brain lasts.)
 */
export function watchMasters(nodes: Carpd[], vips: string[], everyMs = 100): { stop(): Promise<string[]> } {
  const problems: string[] = [];
  const before = new Map<string, string>();
  let on = true;
  const loop = (async () => {
    // Ends by itself once every carpd is gone (a failed test that never calls stop()).
    while (on && nodes.some((n) => n.proc.running)) {
      const states = await Promise.all(nodes.map((n) => n.status().then((s) => s.vips, () => [])));
      for (const vip of vips) {
        const masters = nodes
          .filter((_, i) => states[i]?.find((v) => v.name === vip)?.state === 'MASTER')
          .map((m) => m.node)
          .join(' and ');
        if (masters.includes(' and ') && before.get(vip) === masters) problems.push(`${new Date().toISOString()} ${vip}: ${masters} both MASTER`);
        before.set(vip, masters);
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return problems;
    },
  };
}

/**
 * A client pinging every `intervalMs` (ping -D), for measuring what a
 * failover costs: lost replies and the longest gap between two replies.
 */
export function startPinger(host: Host, target: string, intervalMs = 10): { stop(): Promise<PingResult>; proc: RigProcess } {
  const args = ['-D', '-n', '-i', String(intervalMs / 1000), '-W', '1', ...(target.includes(':') ? ['-6'] : []), target];
  const proc = host.spawn('ping', args, { name: `ping-${target.replace(/[:.]/g, '_')}` });
  return {
    proc,
    async stop() {
      proc.signal('SIGINT');
      await proc.exited;
      return parsePing(proc.output);
    },
  };
}

export interface PingResult {
  sent: number;
  received: number;
  /** Requests without a reply between the first and the last answered one. */
  lost: number;
  /** Longest time between two consecutive replies (ms). */
  maxGapMs: number;
}

export function parsePing(out: string): PingResult {
  const replies = new Map<number, number>(); // seq -> time (ms); duplicates ignored
  for (const m of out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)) {
    const seq = Number(m[2]);
    if (!replies.has(seq)) replies.set(seq, Number(m[1]) * 1000);
  }
  const tx = /(\d+) packets transmitted/.exec(out);
  const seqs = [...replies.keys()].sort((a, b) => a - b);
  const times = [...replies.values()].sort((a, b) => a - b);
  let maxGapMs = 0;
  for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, (times[i] as number) - (times[i - 1] as number));
  const span = seqs.length ? (seqs[seqs.length - 1] as number) - (seqs[0] as number) + 1 : 0;
  return { sent: tx ? Number(tx[1]) : 0, received: replies.size, lost: span - replies.size, maxGapMs: Math.round(maxGapMs) };
}
