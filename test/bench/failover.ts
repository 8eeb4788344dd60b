/**
 * Failover benchmark: what a client behind the VIPs loses when the master
 * dies or hands over, carpd side by side with ucarp and keepalived on the
 * same namespace rig, in one run. Prints figures; asserts nothing about time.
 *
 *   node dist/test/bench/failover.js [--runs 7] [--vrrp-runs 15] [--idle 60] [--json] [--only carp,vrrp100,handover,vrrp10,idle,resources]
 *
 * --json prints the figures as JSON on stdout (the running commentary stays on stderr).
 * The kill lands at a random moment of the advert cycle, so single runs
 * spread over one advert interval: compare medians (and means) of several.
 *
 * Topology: test/rig/topology.ts (fw1, fw2; client on LAN, upstream on WAN).
 * The client pings the upstream host every 10 ms through the LAN VIP (its
 * gateway) and the WAN VIP (the upstream's route back), so both VIPs must
 * move for traffic to resume. The outage of a run is the longest time
 * between two replies; `lost` counts unanswered requests.
 *
 * A dead master: every election process on fw1 SIGKILLed and its three
 * links taken down at the same moment. Between runs fw1's links come back,
 * any VIP its dead peer left configured is removed (a rebooted box has
 * none), its daemon starts again and preempts; the next run starts from
 * fw1 MASTER again.
 *
 * Sections:
 *   carp      carpd CARP advbase 1 vs ucarp advbase 1
 *   vrrp100   carpd VRRPv3 100 ms vs keepalived VRRPv3 100 ms
 *   handover  planned: carpd maintenance enter vs keepalived resign (SIGTERM,
 *             priority 0), both VRRPv3 100 ms; plus carpd CARP advbase 1
 *   vrrp10    carpd VRRPv3 10 ms vs keepalived VRRPv3 10 ms
 *   idle      carpd VRRPv3 10 ms, both nodes idle for --idle s: transitions
 *             seen (false failovers) and the longest gap in client pings
 *   resources CPU and RSS of carpd, master and backup, idle with 8 VIPs
 */
import { readFileSync } from 'node:fs';
import { callControl } from '../../src/agent/control.js';
import { parseArgs } from 'node:util';
import { type Host, Rig, type RigProcess, sleep, waitUntil } from '../rig/netns.js';
import { startKeepalived, startUcarp } from '../rig/peers.js';
import { HA, haTopology, type HaTopology } from '../rig/topology.js';
import { type Carpd, type PingResult, type RigVip, VIPS, rigSite, startCarpd, startPinger, vipHolders } from '../rig/carpd.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'vrrp-runs': { type: 'string', default: '15' },
    idle: { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const RUNS = Math.max(1, Number(flags.runs));
/** VRRPv3 runs are short: more of them, so the kill's random phase in the advert cycle averages out. */
const VRRP_RUNS = Math.max(1, Number(flags['vrrp-runs']));
const IDLE_S = Math.max(1, Number(flags.idle));
const ONLY = flags.only ? new Set(flags.only.split(',')) : null;
const UPSTREAM = '203.0.113.10';
const say = (msg: string) => process.stderr.write(`${msg}\n`); // stdout carries the JSON

// ------------------------------------------------------------------ peers

/** One implementation as the bench drives it: start on a node, kill it like a dead box. */
interface Impl {
  name: string;
  /** Start on `fw`; `primary` gets the better priority/skew. */
  start(fw: Host, primary: boolean): Promise<Running>;
}
interface Running {
  /** SIGKILL every process of it on that node. */
  kill(): Promise<void>;
  /** Graceful planned handover away from this node. */
  handOver(): Promise<void>;
  pids(): number[];
}

function carpdImpl(vips: RigVip[]): Impl {
  const site = rigSite(vips);
  const daemons = new Map<string, Carpd>();
  return {
    name: 'carpd',
    async start(fw) {
      const known = daemons.get(fw.name);
      const c = known ? await known.start() : await startCarpd(fw, fw.name, site);
      daemons.set(fw.name, c);
      return {
        kill: () => c.crash(),
        // Over the control socket from here: the CLI (a Node start) would cost the pingers CPU.
        handOver: async () => { await callControl(c.socket, { cmd: 'carp.maintenance', on: true }); },
        pids: () => [c.proc.pid],
      };
    },
  };
}

function ucarpImpl(vips: RigVip[]): Impl {
  return {
    name: 'ucarp',
    async start(fw, primary) {
      const own = fw.name === 'fw1' ? { LAN: '192.168.1.2', WAN: '203.0.113.2' } : { LAN: '192.168.1.3', WAN: '203.0.113.3' };
      const procs = vips.map((v) =>
        startUcarp(fw, { interface: v.interface, srcip: own[v.interface as 'LAN' | 'WAN'], vhid: v.vhid, password: 'rig-secret', vip: v.address, advbase: 1, advskew: primary ? 0 : 100, preempt: true }),
      );
      return {
        async kill() { for (const p of procs) p.signal('SIGKILL'); await Promise.all(procs.map((p) => p.exited)); },
        async handOver() { throw new Error('ucarp has no graceful handover'); },
        pids: () => procs.map((p) => p.pid),
      };
    },
  };
}

function keepalivedImpl(vips: RigVip[]): Impl {
  return {
    name: 'keepalived',
    async start(fw, primary) {
      const ks = vips.map((v) => startKeepalived(fw, { interface: v.interface, vrid: v.vhid, priority: primary ? 254 : 154, advertInt: (v.intervalMs ?? 1000) / 1000, vips: [v.address] }));
      await Promise.all(ks.map((k) => k.proc.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 10_000)));
      const children = await Promise.all(ks.map((k) => k.vrrpPid()));
      let stopped = false;
      return {
        async kill() { if (!stopped) await Promise.all(ks.map((k) => k.crash())); },
        async handOver() { stopped = true; await Promise.all(ks.map((k) => k.stop())); },
        pids: () => [...ks.map((k) => k.proc.pid), ...children],
      };
    },
  };
}

// ------------------------------------------------------------------- runs

interface RunResult { outageMs: number; lost: number; ok: boolean }

async function holdsAll(fw: Host, fws: Host[], vips: RigVip[]): Promise<boolean> {
  for (const v of vips) {
    const h = await vipHolders(fws, v.address);
    if (h.length !== 1 || h[0] !== fw) return false;
  }
  return true;
}

/** Wait until `fw` alone holds every VIP, for `stableMs` in a row. */
async function settle(t: HaTopology, fw: Host, vips: RigVip[], stableMs = 1000, timeoutMs = 20_000): Promise<void> {
  let since = 0;
  await waitUntil(async () => {
    if (!(await holdsAll(fw, t.firewalls, vips))) { since = 0; return false; }
    since ||= Date.now();
    return Date.now() - since >= stableMs;
  }, { timeoutMs, intervalMs: 100, what: `${fw.name} to hold ${vips.map((v) => v.name).join(', ')}` });
}

async function clearVips(fw: Host, vips: RigVip[]): Promise<void> {
  for (const v of vips) await fw.exec('ip', ['addr', 'del', v.address, 'dev', v.interface]);
}

/** Client pings `targets` (default: upstream, through the VIPs) while `act` happens; returns what the client saw per target. */
async function measure(t: HaTopology, act: () => Promise<void>, waitMs: number, targets = [UPSTREAM]): Promise<PingResult[]> {
  const pings = targets.map((target) => startPinger(t.client, target, 10));
  await sleep(1000);
  await act();
  await sleep(waitMs);
  return Promise.all(pings.map((p) => p.stop()));
}

const LINKS = ['WAN', 'LAN', 'SYNC'];

/**
 * `runs` hard failovers of `impl`: fw1 (primary) MASTER, fw2 BACKUP; fw1
 * dies (processes SIGKILLed, links down); the client's outage is measured;
 * fw1 comes back and preempts.
 */
async function hardFailovers(t: HaTopology, impl: Impl, vips: RigVip[], runs: number, recoverMs: number): Promise<RunResult[]> {
  const { rig, fw1, fw2 } = t;
  await clearVips(fw1, vips);
  await clearVips(fw2, vips);
  let master = await impl.start(fw1, true);
  await settle(t, fw1, vips);
  const backup = await impl.start(fw2, false);
  await sleep(1500);
  await settle(t, fw1, vips);
  const results: RunResult[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const [r] = (await measure(t, () => Promise.all([master.kill(), ...LINKS.map((l) => rig.linkDown(fw1, l))]).then(() => undefined), recoverMs)) as [PingResult];
      const ok = r.received > 0 && (await holdsAll(fw2, [fw2], vips));
      results.push({ outageMs: r.maxGapMs, lost: r.lost, ok });
      say(`  ${impl.name} run ${i + 1}: outage ${r.maxGapMs} ms, ${r.lost} pings lost${ok ? '' : ' (DID NOT RECOVER)'}`);
      // The dead box comes back (rebooted: no VIP configured) and preempts.
      await clearVips(fw1, vips);
      for (const l of LINKS) await rig.linkUp(fw1, l);
      master = await impl.start(fw1, true);
      await settle(t, fw1, vips, 1000, 30_000);
    }
  } finally {
    await master.kill();
    await backup.kill();
    await clearVips(fw1, vips);
    await clearVips(fw2, vips);
  }
  return results;
}

interface HandoverResult extends RunResult { vip: { outageMs: number; lost: number } }

/**
 * `runs` planned handovers fw1 -> fw2 (carpd maintenance, keepalived
 * resign). The client pings through the VIPs and the LAN VIP itself: a
 * resigning keepalived drops the VIP before the backup has it, which only
 * traffic to the VIP shows (routed traffic still reaches the old master's
 * own MAC, and it still forwards).
 */
async function handovers(
  t: HaTopology, impl: Impl, vips: RigVip[], runs: number, after?: (fw: Host) => Promise<void>,
): Promise<HandoverResult[] & { baseline?: PingResult }> {
  const { fw1, fw2 } = t;
  const results: HandoverResult[] & { baseline?: PingResult } = [];
  await clearVips(fw1, vips);
  await clearVips(fw2, vips);
  const backup = await impl.start(fw2, false);
  try {
    for (let i = 0; i < runs; i++) {
      const master = await impl.start(fw1, true);
      await settle(t, fw1, vips, 1500, 30_000);
      // What the pinger shows when nothing happens (its own jitter), once.
      if (i === 0) [results.baseline] = (await measure(t, () => sleep(0), 1500)) as [PingResult];
      const [r, toVip] = (await measure(t, () => master.handOver(), 1500, [UPSTREAM, HA.vip.LAN])) as [PingResult, PingResult];
      const ok = await holdsAll(fw2, t.firewalls, vips);
      results.push({ outageMs: r.maxGapMs, lost: r.lost, ok, vip: { outageMs: toVip.maxGapMs, lost: toVip.lost } });
      say(`  ${impl.name} handover ${i + 1}: through the VIPs ${r.lost} lost (longest gap ${r.maxGapMs} ms); to the VIP ${toVip.lost} lost (longest gap ${toVip.maxGapMs} ms)${ok ? '' : ' (DID NOT MOVE)'}`);
      await master.kill();
      await after?.(fw1);
      await clearVips(fw1, vips);
    }
  } finally {
    await backup.kill();
    await clearVips(fw2, vips);
  }
  return results;
}

// -------------------------------------------------------------- figures

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Compared {
  runs: Record<string, RunResult[]>;
  medianOutageMs: Record<string, number>;
  meanOutageMs: Record<string, number>;
  medianLost: Record<string, number>;
  /** carpd / peer, on the median outage (longest gap between replies). */
  ratio?: number;
  /** carpd / peer, on the median count of lost pings (lost x 10 ms is the other usual way to state an outage). */
  ratioLost?: number;
}

function compare(runs: Record<string, RunResult[]>, ours = 'carpd'): Compared {
  const medianOutageMs: Record<string, number> = {};
  const meanOutageMs: Record<string, number> = {};
  const medianLost: Record<string, number> = {};
  for (const [k, rs] of Object.entries(runs)) {
    medianOutageMs[k] = median(rs.map((r) => r.outageMs));
    meanOutageMs[k] = Math.round(rs.reduce((n, r) => n + r.outageMs, 0) / rs.length);
    medianLost[k] = median(rs.map((r) => r.lost));
  }
  const other = Object.keys(runs).find((k) => k !== ours);
  const c: Compared = { runs, medianOutageMs, meanOutageMs, medianLost };
  const r2 = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  if (other && medianOutageMs[other]) c.ratio = r2(medianOutageMs[ours] as number, medianOutageMs[other] as number);
  if (other && medianLost[other]) c.ratioLost = r2(medianLost[ours] as number, medianLost[other] as number);
  return c;
}

function printCompared(title: string, c: Compared): void {
  say(`${title}:`);
  for (const k of Object.keys(c.runs)) {
    say(`  ${k.padEnd(11)} median outage ${String(c.medianOutageMs[k]).padStart(5)} ms (mean ${c.meanOutageMs[k]}), median lost ${c.medianLost[k]} pings  (runs: ${(c.runs[k] ?? []).map((r) => r.outageMs).join(', ')})`);
  }
  const other = Object.keys(c.runs).find((k) => k !== 'carpd');
  if (c.ratio !== undefined) say(`  ratio carpd / ${other}: ${c.ratio} (outage)${c.ratioLost !== undefined ? `, ${c.ratioLost} (lost pings)` : ''}`);
}

/** Hard failovers of each implementation in turn on the same rig; medians and ratios. */
async function compareFailovers(t: HaTopology, title: string, vips: RigVip[], impls: Impl[], recoverMs: number, n = RUNS): Promise<Compared> {
  say(`hard failover, ${title} (${n} runs each)`);
  const runs: Record<string, RunResult[]> = {};
  for (const impl of impls) runs[impl.name] = await hardFailovers(t, impl, vips, n, recoverMs);
  const c = compare(runs);
  printCompared(`${title}: ${impls.map((i) => i.name).join(' vs ')}`, c);
  return c;
}

// ------------------------------------------------------------- resources

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function usage(procs: RigProcess[], seconds: number): Promise<Array<{ cpuPercent: number; rssMb: number }>> {
  const hz = 100; // USER_HZ
  const t0 = procs.map((p) => cpuTicks(p.pid));
  const start = Date.now();
  await sleep(seconds * 1000);
  const wall = (Date.now() - start) / 1000;
  return procs.map((p, i) => ({
    cpuPercent: Math.round(((cpuTicks(p.pid) - (t0[i] as number)) / hz / wall) * 1000) / 10,
    rssMb: Math.round(rssKb(p.pid) / 102.4) / 10,
  }));
}

function eightVips(protocol: 'carp' | 'vrrp3' | 'mixed', intervalMs = 100): RigVip[] {
  const out: RigVip[] = [];
  for (let i = 0; i < 4; i++) {
    const p = (n: number): Pick<RigVip, 'protocol' | 'intervalMs' | 'advbase'> =>
      protocol === 'carp' || (protocol === 'mixed' && n % 2 === 0) ? { protocol: 'carp', advbase: 1 } : { protocol: 'vrrp3', intervalMs };
    out.push({ name: `lan${i}`, interface: 'LAN', address: `192.168.1.${i === 0 ? 1 : 3 + i}/24`, vhid: 1 + i * 2, ...p(i) });
    out.push({ name: `wan${i}`, interface: 'WAN', address: `203.0.113.${i === 0 ? 1 : 3 + i}/24`, vhid: 49 + i * 2, ...p(i) });
  }
  return out;
}

// ------------------------------------------------------------------ main

async function section<T>(name: string, fn: (t: HaTopology) => Promise<T>): Promise<T | undefined> {
  if (ONLY && !ONLY.has(name)) return undefined;
  const rig = await Rig.create(`bench-${name}`);
  try {
    const t = await haTopology(rig);
    return await fn(t);
  } finally {
    await rig.teardown();
  }
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { runs: RUNS, vrrpRuns: VRRP_RUNS, idleSeconds: IDLE_S, at: new Date().toISOString() };
  const carp = [VIPS.lan, VIPS.wan].map((v) => ({ ...v, protocol: 'carp' as const, advbase: 1 }));
  const vrrp = (ms: number) => [VIPS.lan, VIPS.wan].map((v) => ({ ...v, protocol: 'vrrp3' as const, intervalMs: ms }));

  out.carp = await section('carp', (t) => compareFailovers(t, 'CARP advbase 1', carp, [carpdImpl(carp), ucarpImpl(carp)], 5000));
  out.vrrp100 = await section('vrrp100', (t) => compareFailovers(t, 'VRRPv3 100 ms', vrrp(100), [carpdImpl(vrrp(100)), keepalivedImpl(vrrp(100))], 1500, VRRP_RUNS));

  out.handover = await section('handover', async (t) => {
    say(`planned handover (${RUNS} runs each)`);
    const v = vrrp(100);
    // carpd's maintenance flag is persisted: forget it after each run (the next run starts fw1 afresh).
    const leave = async (fw: Host) => { await fw.exec('rm', ['-f', `${fw.dir}/carpd-${fw.name}/state.json`]); };
    const runs = { carpd: await handovers(t, carpdImpl(v), v, RUNS, leave), keepalived: await handovers(t, keepalivedImpl(v), v, RUNS) };
    const carpCarp = await handovers(t, carpdImpl(carp), carp, RUNS, leave);
    const c = compare(runs);
    const baseline = runs.carpd.baseline;
    say(`  baseline, nothing happening: longest gap between replies ${baseline?.maxGapMs} ms, ${baseline?.lost} lost`);
    printCompared('planned handover, VRRPv3 100 ms, client -> upstream: carpd maintenance vs keepalived resign', c);
    const toVip = Object.fromEntries(Object.entries({ ...runs, 'carpd CARP': carpCarp }).map(([k, rs]) => [k, {
      medianLost: median(rs.map((r) => r.vip.lost)), medianOutageMs: median(rs.map((r) => r.vip.outageMs)), runs: rs.map((r) => r.vip),
    }]));
    for (const [k, x] of Object.entries(toVip)) say(`  to the VIP itself, ${k.padEnd(11)}: median lost ${x.medianLost} pings, median longest gap ${x.medianOutageMs} ms`);
    say(`  carpd CARP advbase 1 maintenance, client -> upstream: median lost ${median(carpCarp.map((r) => r.lost))} pings (runs: ${carpCarp.map((r) => r.lost).join(', ')})`);
    return { baseline, ...c, toVip, carpdCarp: { runs: carpCarp, medianLost: median(carpCarp.map((r) => r.lost)) } };
  });

  out.vrrp10 = await section('vrrp10', (t) => compareFailovers(t, 'VRRPv3 10 ms', vrrp(10), [carpdImpl(vrrp(10)), keepalivedImpl(vrrp(10))], 1000, VRRP_RUNS));

  out.idle = await section('idle', async (t) => {
    say(`idle run, carpd VRRPv3 10 ms, ${IDLE_S} s`);
    const v = vrrp(10);
    const site = rigSite(v);
    const c1 = await startCarpd(t.fw1, 'fw1', site);
    await settle(t, t.fw1, v);
    const c2 = await startCarpd(t.fw2, 'fw2', site);
    await sleep(1000);
    await settle(t, t.fw1, v);
    const transitions = () => (c1.proc.output.match(/ transition /g) ?? []).length + (c2.proc.output.match(/ transition /g) ?? []).length;
    const before = transitions();
    const [r] = (await measure(t, () => sleep(IDLE_S * 1000), 0)) as [PingResult];
    const falseFailovers = transitions() - before;
    const s2 = await c2.vip('lan');
    say(`  transitions during the idle run: ${falseFailovers} (false failovers); client: ${r.lost} pings lost, longest gap ${r.maxGapMs} ms`);
    say(`  backup heard ${s2.counters?.received} adverts, dropped ${s2.counters?.droppedTotal}`);
    await c1.stop();
    await c2.stop();
    return { seconds: IDLE_S, falseFailovers, ping: r };
  });

  out.resources = await section('resources', async (t) => {
    const res: Record<string, unknown> = {};
    for (const [label, vips] of [
      ['8 VIPs: 4 CARP advbase 1 + 4 VRRPv3 100 ms', eightVips('mixed', 100)],
      ['8 VIPs: VRRPv3 10 ms', eightVips('vrrp3', 10)],
    ] as const) {
      const site = rigSite([...vips]);
      const c1 = await startCarpd(t.fw1, 'fw1', site);
      await settle(t, t.fw1, [...vips], 500);
      const c2 = await startCarpd(t.fw2, 'fw2', site);
      await sleep(4000);
      const adverts = async () => (await c1.status()).vips.reduce((n, v) => n + (v.counters?.sent ?? 0), 0);
      const sent0 = await adverts();
      const [m, b] = await usage([c1.proc, c2.proc], 20);
      const advertsPerSecond = Math.round(((await adverts()) - sent0) / 20);
      say(`resources, ${label}, idle 20 s: master ${m?.cpuPercent}% CPU ${m?.rssMb} MB RSS (${advertsPerSecond} adverts/s sent); backup ${b?.cpuPercent}% CPU ${b?.rssMb} MB RSS`);
      res[label] = { master: m, backup: b, advertsPerSecond };
      await c1.stop();
      await c2.stop();
    }
    return res;
  });

  if (flags.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
