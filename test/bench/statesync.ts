/**
 * State-sync benchmark: what conntrackd under carpd costs and keeps, side by
 * side with bare conntrackd on the same namespace rig, in one run. Prints
 * figures and ratios; asserts nothing about time.
 *
 *   node dist/test/bench/statesync.js [--runs 3] [--quick] [--json] [--only sessions,lag,promotion,resync]
 *
 * --json prints the figures as JSON on stdout (commentary and the table go
 * to stderr). --quick: one run of each and shorter loads (about 2 min).
 * Single runs are noisy on a 2-core machine: the figures are medians of the
 * runs (each run's own p50/p99 first, then their median).
 *
 * Topology: test/rig/topology.ts (fw1, fw2 with WAN/LAN/SYNC; client on LAN,
 * upstream on WAN). "carpd": both firewalls run `carpd run` with their whole
 * dataplane (statesync-rig.ts natSite: VRRPv3 100 ms, outbound NAT to the
 * WAN VIP). "bare": no carpd; each firewall gets the same dataplane carpd
 * would plan (sysctls, nftables ruleset, conntrackd.conf rendered by
 * renderConntrackdConf) applied by hand, fw1 holds the VIPs as plain
 * addresses, conntrackd runs with that config and nothing drives it but
 * this bench (statesync-rig.ts BareConntrackd). The only difference is carpd.
 *
 * Sections:
 *   sessions   1,000 concurrent TCP sessions (sessions tool, an echo every
 *              250 ms each) through NAT; fw1 dies hard (carpd SIGKILLed,
 *              cables pulled): how many survive. carpd only (bare conntrackd
 *              has no election to fail over).
 *   lag        replication lag, creation on the master to arrival at the
 *              backup, at 2,000 and 10,000 new connections/s. Method: the
 *              client sends one UDP datagram per new 5-tuple, paced
 *              (helpers/udp-flows.ts load; the upstream drops them), through
 *              fw1, which creates one conntrack entry each. tcpdump takes
 *              kernel timestamps (one clock, nanoseconds) of each creating
 *              datagram on fw1's LAN port and of the sync datagrams on fw2's
 *              SYNC port; decoding conntrackd's wire format (nethdr +
 *              NTA_IPV4/NTA_PORT attributes) gives, per entry, the first sync
 *              message carrying it. Lag = that arrival - the creating packet.
 *              Presence check: during the load the backup's external cache
 *              is polled (STATS over its UNIX socket, every ~1 ms); at each
 *              poll, the oldest entry already on the wire but not yet counted
 *              gives its age (the backup's processing delay, a lower bound),
 *              and the cache must end up holding every entry.
 *   promotion  takeover decision to committed table with 10,000 and 50,000
 *              states (`conntrack -R` bulk loads of ESTABLISHED entries on
 *              fw1, replicated to fw2's external cache). carpd: fw1 dies
 *              hard; lastPromotion of fw2's `carpd status`; when fw2's first
 *              VRRP advert left (tcpdump on its LAN port) and how slowly
 *              `carpd status` answered meanwhile. While the commit runs carpd
 *              holds the announcement (no VIP, no advert as MASTER) until the
 *              commit is done or its budget (--commit-budget-ms, 2 s) has
 *              passed; its event loop keeps going (status, other VIPs).
 *              bare: `conntrackd -c` on fw2, timed like carpd times its own
 *              (the client command).
 *   resync     bulk resync after a backup restart, same tables. carpd: fw2's
 *              carpd stopped and started: lastResync.durationMs (its own
 *              view: request to the last change it saw, polled every 50 ms)
 *              and on the wire (tcpdump on fw2's SYNC port: the resync
 *              request to the datagram completing the table). bare: fw2's
 *              conntrackd restarted, then `conntrackd -n`: on the wire, until
 *              the cache held the table (polled every ~1 ms), and the -n
 *              command itself (it returns once the request is sent).
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { conntrackdPaths } from '../../src/agent/dataplane/plan.js';
import { parseConntrackdStats } from '../../src/agent/statesync/index.js';
import { waitStates } from '../rig/carpd.js';
import { type Host, Rig, type RigProcess, sleep, waitUntil } from '../rig/netns.js';
import {
  BareConntrackd, type DataplaneCarpd, UDP_FLOWS, deadBox, natSite, startPair, startProbe, startSessionsServer, waitExternal, waitHoldoffReleased,
} from '../rig/statesync-rig.js';
import { HA, haTopology, type HaTopology } from '../rig/topology.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const QUICK = flags.quick;
const RUNS = Math.max(1, Number(flags.runs ?? (QUICK ? 1 : 3)));
const ONLY = flags.only ? new Set(flags.only.split(',')) : null;
const wanted = (s: string) => ONLY === null || ONLY.has(s);
const say = (msg: string) => process.stderr.write(`${msg}\n`); // stdout carries the JSON

const CLIENT = HA.client.LAN[0].split('/')[0] as string;
const UPSTREAM = HA.upstream.WAN[0].split('/')[0] as string;
const SYNC = { fw1: HA.fw1.SYNC[0].split('/')[0] as string, fw2: HA.fw2.SYNC[0].split('/')[0] as string };
const SESSIONS = 1000;
const LAG_LOADS = [
  { rate: 2000, seconds: QUICK ? 1.5 : 3 },
  { rate: 10_000, seconds: QUICK ? 1 : 2 },
];
const TABLES = [10_000, 50_000];
/** Ports the lag load goes to on the upstream (which drops them). */
const LOAD_PORTS = { first: 30000, last: 39999, perRun: 100 };

// ------------------------------------------------------------- numbers

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number);
}
const median = (xs: number[]) => quantile(xs, 0.5);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? Math.round((a / b) * 100) / 100 : null);
const nowMs = () => performance.timeOrigin + performance.now();

// ------------------------------------------------------------- captures

interface Packet { t: number; data: Buffer }

/** pcap records (tcpdump -w, nanosecond or microsecond timestamps) with wall-clock ms. */
function pcapRecords(b: Buffer): Packet[] {
  if (b.length < 24) return [];
  const nano = b.readUInt32LE(0) === 0xa1b23c4d;
  const out: Packet[] = [];
  for (let off = 24; off + 16 <= b.length;) {
    const incl = b.readUInt32LE(off + 8);
    out.push({ t: b.readUInt32LE(off) * 1000 + b.readUInt32LE(off + 4) / (nano ? 1e6 : 1e3), data: b.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return out;
}

interface Udp { src: string; dst: string; sport: number; dport: number; payload: Buffer }

/** The IPv4/UDP datagram in an Ethernet frame. */
function udpOf(frame: Buffer): Udp | undefined {
  if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 17) return undefined;
  const ip = frame.subarray(14);
  const u = ip.subarray(((ip[0] as number) & 15) * 4);
  return { src: ip.subarray(12, 16).join('.'), dst: ip.subarray(16, 20).join('.'), sport: u.readUInt16BE(0), dport: u.readUInt16BE(2), payload: u.subarray(8) };
}

const flowKey = (src: string, sport: number, dst: string, dport: number) => `${src}:${sport}>${dst}:${dport}`;

/** conntrackd network message types and flags (conntrack-tools include/network.h). */
const NET = { ctNew: 0, ctUpd: 1, ctl: 10, resync: 1 << 1 };

interface SyncMsg { type: number; flags: number; key?: string }

/**
 * conntrackd's sync messages in one datagram: nethdr (type in the low
 * nibble, flags, len, seq; 8 bytes), then for state messages 4-byte-aligned
 * attributes (len, type): NTA_IPV4 (0) = orig src, dst; NTA_PORT (3) = orig
 * sport, dport.
 */
function syncMessages(p: Buffer): SyncMsg[] {
  const out: SyncMsg[] = [];
  for (let off = 0; off + 8 <= p.length;) {
    const len = p.readUInt16BE(off + 2);
    if (len < 8 || off + len > p.length) break;
    const msg: SyncMsg = { type: (p[off] as number) & 15, flags: p[off + 1] as number };
    if (msg.type === NET.ctNew || msg.type === NET.ctUpd) {
      let ips: [string, string] | undefined;
      let ports: [number, number] | undefined;
      for (let a = off + 8; a + 4 <= off + len;) {
        const alen = p.readUInt16BE(a);
        const attr = p.readUInt16BE(a + 2);
        if (alen < 4) break;
        if (attr === 0) ips = [p.subarray(a + 4, a + 8).join('.'), p.subarray(a + 8, a + 12).join('.')];
        if (attr === 3) ports = [p.readUInt16BE(a + 4), p.readUInt16BE(a + 6)];
        a += (alen + 3) & ~3;
      }
      if (ips && ports) msg.key = flowKey(ips[0], ports[0], ips[1], ports[1]);
    }
    out.push(msg);
    off += (len + 3) & ~3;
  }
  return out;
}

/** The sync datagrams `from` sent, decoded, in capture order. */
function syncStream(packets: Packet[], from: string): Array<{ t: number; msgs: SyncMsg[] }> {
  const out: Array<{ t: number; msgs: SyncMsg[] }> = [];
  for (const pk of packets) {
    const u = udpOf(pk.data);
    if (u && u.src === from) out.push({ t: pk.t, msgs: syncMessages(u.payload) });
  }
  return out;
}

/** tcpdump on a rig host's port, kernel timestamps in nanoseconds, into the host's scratch dir. */
class Capture {
  private constructor(readonly proc: RigProcess, readonly file: string, readonly name: string) {}

  static async start(host: Host, ifname: string, filter: string, name: string, snaplen = 0): Promise<Capture> {
    const file = join(host.dir, `${name}.pcap`);
    const proc = host.spawn('tcpdump', ['-i', ifname, '-p', '-n', '-s', String(snaplen), '-B', '65536', '--time-stamp-precision=nano', '-w', file, filter], { name: `tcpdump-${name}` });
    await proc.waitForOutput(/listening on/, 5000);
    return new Capture(proc, file, name);
  }

  async stop(): Promise<Packet[]> {
    // The kernel hands tcpdump its ring in blocks, each retired after at most 1 s: wait for the last one.
    await sleep(1100);
    this.proc.signal('SIGINT');
    await this.proc.exited;
    const m = /(\d+) packets captured\s+(\d+) packets received by filter\s+(\d+) packets dropped by kernel/.exec(this.proc.output);
    // (Packets received but not captured are the newest, after the wait: past what is measured.)
    if (!m || m[3] !== '0') say(`  (capture ${this.name}: ${m ? `${m[3]} packets dropped by the kernel` : 'no summary from tcpdump'})`);
    return pcapRecords(readFileSync(this.file));
  }
}

// ------------------------------------------------------------ conntrackd

/** `conntrackd -s` without a client process: STATS (21) over the daemon's UNIX socket. */
function statsOnce(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = createConnection(socket, () => {
      const req = Buffer.alloc(4);
      req.writeInt32LE(21);
      s.write(req);
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

async function externalCache(socket: string): Promise<{ active: number; created: number }> {
  const e = parseConntrackdStats(await statsOnce(socket)).external;
  return { active: e?.active ?? 0, created: e?.created ?? 0 };
}

async function waitExternalAt(socket: string, n: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => (await externalCache(socket)).active >= n, { timeoutMs, intervalMs: 100, what: `${n} entries in the external cache of ${socket}` });
}

interface Poll { t0: number; created: number }

/** The backup's external "connections created" counter, polled back to back (~1 ms apart). */
function pollExternal(socket: string): { stop(): Promise<Poll[]> } {
  const polls: Poll[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t0 = nowMs();
      polls.push({ t0, created: (await externalCache(socket)).created });
      await sleep(1);
    }
  })();
  return { stop: async () => ((on = false), await loop, polls) };
}

/** `conntrack -R` lines for n ESTABLISHED, ASSURED TCP entries from the LAN to the upstream. */
function tableFile(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = `192.168.1.${20 + (i % 200)}`;
    const dst = `198.51.100.${1 + Math.floor(i / 50_000)}`;
    const sport = 10_000 + Math.floor(i / 200) % 50_000;
    lines.push(`-A -t 431999 -u SEEN_REPLY,ASSURED -s ${src} -d ${dst} -r ${dst} -q ${src} -p tcp --sport ${sport} --dport 443 --reply-port-src 443 --reply-port-dst ${sport} --state ESTABLISHED`);
  }
  return `${lines.join('\n')}\n`;
}

async function loadTable(master: Host, n: number): Promise<void> {
  const file = master.writeFile(`table-${n}.txt`, tableFile(n));
  await master.succeed('conntrack', ['-R', file], { timeoutMs: 120_000 });
}

// ----------------------------------------------------------------- sides

/** One way of running the pair on a fresh rig: carpd, or bare conntrackd. */
interface Side {
  name: 'carpd' | 'bare';
  t: HaTopology;
  /** fw2's conntrackd control socket. */
  backupSocket: string;
  carpd?: [DataplaneCarpd, DataplaneCarpd];
  bare?: [BareConntrackd, BareConntrackd];
}

async function carpdSide(rig: Rig): Promise<Side> {
  const t = await haTopology(rig);
  const pair = await startPair(t.fw1, t.fw2, natSite());
  return { name: 'carpd', t, backupSocket: conntrackdPaths(pair[1].stateDir).socket, carpd: pair };
}

async function bareSide(rig: Rig): Promise<Side> {
  const t = await haTopology(rig);
  const site = natSite();
  const b1 = await BareConntrackd.start(t.fw1, 'fw1', site, { vips: true });
  const b2 = await BareConntrackd.start(t.fw2, 'fw2', site);
  return { name: 'bare', t, backupSocket: b2.paths.socket, bare: [b1, b2] };
}

async function onRig<T>(name: string, make: (rig: Rig) => Promise<Side>, fn: (side: Side) => Promise<T>): Promise<T> {
  const rig = await Rig.create(`bench-ss-${name}`);
  try {
    return await fn(await make(rig));
  } finally {
    await rig.teardown();
  }
}

const SIDES: Array<[Side['name'], (rig: Rig) => Promise<Side>]> = [['carpd', carpdSide], ['bare', bareSide]];

// -------------------------------------------------------------- sessions

/**
 * (The probe's maxStallMs is left out: it counts from each session's
 * creation, and the probe opens all 1,000 before it sends anything, so it
 * reads ~2.5 s however short the failover.)
 */
interface SessionsRun { survived: number; lost: number; lostReasons: Record<string, number>; decisionToCommitMs: number | null; committed: number | null }

async function sessionsRun(): Promise<SessionsRun> {
  return onRig('sessions', carpdSide, async ({ t, carpd }) => {
    const [c1, c2] = carpd as [DataplaneCarpd, DataplaneCarpd];
    const server = startSessionsServer(t.upstream);
    await server.waitForOutput(/serving on/);
    const probe = startProbe(t.client, { conns: SESSIONS, intervalMs: 250, seconds: 16, bulkMb: 0, bulkMbps: 0 });
    await probe.established();
    await waitExternal(c2, SESSIONS, 20_000);
    await deadBox(t.rig, c1);
    for (const vip of ['lan', 'wan']) await waitStates([c2], vip, { fw2: 'MASTER' });
    const r = await probe.result();
    const p = (await c2.syncState()).lastPromotion;
    return {
      survived: r.sessionsTotal - r.sessionsLost, lost: r.sessionsLost, lostReasons: r.lostReasons,
      decisionToCommitMs: p?.decisionToCommitMs ?? null, committed: p?.committed ?? null,
    };
  });
}

// ------------------------------------------------------------------- lag

interface LagRun {
  rate: number;
  sent: number;
  /** Entries seen both created on fw1 and arriving at fw2. */
  matched: number;
  /** The rate the creating packets reached fw1 at. */
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Sync datagrams per entry (conntrackd packs several messages into one when busy). */
  datagramsPerEntry: number;
  presence: { polls: number; allPresent: boolean; maxBacklog: number; oldestMissingP99Ms: number; oldestMissingMaxMs: number };
}

let loadRun = 0;

async function lagRun(side: Side, rate: number, count: number): Promise<LagRun> {
  const { fw1, fw2, client } = side.t;
  const dport = LOAD_PORTS.first + (loadRun++ * LOAD_PORTS.perRun) % (LOAD_PORTS.last - LOAD_PORTS.first);
  const lan = await Capture.start(fw1, 'LAN', `udp and src host ${CLIENT} and dst portrange ${dport}-${dport + LOAD_PORTS.perRun - 1}`, `lag-lan-${loadRun}`, 96);
  const sync = await Capture.start(fw2, 'SYNC', `udp port 3780 and src host ${SYNC.fw1}`, `lag-sync-${loadRun}`);
  const base = (await externalCache(side.backupSocket)).created;
  const poll = pollExternal(side.backupSocket);
  const gen = client.spawn('node', [UDP_FLOWS, 'load', '--target', UPSTREAM, '--rate', String(rate), '--count', String(count), '--dport', String(dport), '--sockets', '500'], { name: 'udp-load' });
  const { exitCode } = await gen.exited;
  if (exitCode !== 0) throw new Error(`udp-flows load failed:\n${gen.output}`);
  const sent = (JSON.parse(gen.output.split('\n').find((l) => l.startsWith('{"load"')) ?? '{}') as { load?: { sent: number } }).load?.sent ?? 0;
  await sleep(300);
  const polls = await poll.stop();
  const [lanPackets, syncPackets] = await Promise.all([lan.stop(), sync.stop()]);
  const created = new Map<string, number>();
  for (const pk of lanPackets) {
    const u = udpOf(pk.data);
    if (u) {
      const k = flowKey(u.src, u.sport, u.dst, u.dport);
      if (!created.has(k)) created.set(k, pk.t);
    }
  }
  const stream = syncStream(syncPackets, SYNC.fw1);
  const arrived = new Map<string, number>();
  for (const d of stream) for (const m of d.msgs) if (m.key !== undefined && !arrived.has(m.key)) arrived.set(m.key, d.t);
  const lags: number[] = [];
  for (const [k, t] of created) {
    const a = arrived.get(k);
    if (a !== undefined) lags.push(a - t);
  }
  const times = [...created.values()].sort((a, b) => a - b);
  const span = ((times[times.length - 1] ?? 0) - (times[0] ?? 0)) / 1000;
  return {
    rate, sent, matched: lags.length, achievedRate: Math.round(span > 0 ? (times.length - 1) / span : 0),
    p50Ms: r3(quantile(lags, 0.5)), p99Ms: r3(quantile(lags, 0.99)), maxMs: r3(Math.max(...lags)),
    datagramsPerEntry: Math.round((stream.filter((d) => d.msgs.some((m) => m.key !== undefined)).length / Math.max(1, arrived.size)) * 100) / 100,
    presence: presenceCheck([...arrived.values()].sort((a, b) => a - b), polls, base),
  };
}

/**
 * The backup's external cache against the wire: at each poll (taken at t0,
 * counting `created - base` entries), the entries that had arrived before
 * t0 but were not counted yet are its backlog, and the oldest of them had
 * waited t0 - its arrival (a lower bound of its processing delay).
 */
function presenceCheck(arrivals: number[], polls: Poll[], base: number): LagRun['presence'] {
  const ages: number[] = [];
  let maxBacklog = 0;
  let onWire = 0;
  for (const p of polls) {
    while (onWire < arrivals.length && (arrivals[onWire] as number) < p.t0) onWire++;
    const counted = p.created - base;
    maxBacklog = Math.max(maxBacklog, onWire - counted);
    ages.push(counted < onWire ? p.t0 - (arrivals[Math.max(0, counted)] as number) : 0);
  }
  const last = polls[polls.length - 1];
  return {
    polls: polls.length,
    allPresent: last !== undefined && last.created - base >= arrivals.length,
    maxBacklog,
    oldestMissingP99Ms: r3(quantile(ages, 0.99)),
    oldestMissingMaxMs: r3(Math.max(0, ...ages)),
  };
}

interface LagFigures { rate: number; runs: Record<string, LagRun[]>; p50Ms: Record<string, number>; p99Ms: Record<string, number>; ratioP50: number | null; ratioP99: number | null }

async function lagSection(): Promise<LagFigures[]> {
  const runs = new Map<number, Record<string, LagRun[]>>();
  for (const [name, make] of SIDES) {
    await onRig(`lag-${name}`, make, async (side) => {
      await side.t.upstream.succeed(`nft add table inet bench; nft add chain inet bench in '{ type filter hook input priority 0; }'; nft add rule inet bench in udp dport ${LOAD_PORTS.first}-${LOAD_PORTS.last} drop`);
      await lagRun(side, 1000, 500); // warm-up: ARP, routes, caches
      for (const { rate, seconds } of LAG_LOADS) {
        for (let i = 0; i < RUNS; i++) {
          const r = await lagRun(side, rate, Math.round(rate * seconds));
          const byImpl = runs.get(rate) ?? {};
          (byImpl[name] ??= []).push(r);
          runs.set(rate, byImpl);
          say(`  lag ${name} ${rate}/s run ${i + 1}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (${r.matched}/${r.sent} entries, reached fw1 at ${r.achievedRate}/s, ${r.datagramsPerEntry} datagrams/entry); backup cache: ${r.presence.allPresent ? 'all present' : 'NOT ALL PRESENT'}, backlog max ${r.presence.maxBacklog}, oldest missing p99 ${r.presence.oldestMissingP99Ms} ms, max ${r.presence.oldestMissingMaxMs} ms (${r.presence.polls} polls)`);
        }
      }
    });
  }
  return LAG_LOADS.map(({ rate }) => {
    const byImpl = runs.get(rate) ?? {};
    const p50Ms = Object.fromEntries(Object.entries(byImpl).map(([k, rs]) => [k, r3(median(rs.map((r) => r.p50Ms)))]));
    const p99Ms = Object.fromEntries(Object.entries(byImpl).map(([k, rs]) => [k, r3(median(rs.map((r) => r.p99Ms)))]));
    return { rate, runs: byImpl, p50Ms, p99Ms, ratioP50: ratio(p50Ms.carpd ?? NaN, p50Ms.bare ?? NaN), ratioP99: ratio(p99Ms.carpd ?? NaN, p99Ms.bare ?? NaN) };
  });
}

// ---------------------------------------------------- promotion and resync

interface ResyncWire { requests: number; wireMs: number | null; stateMessages: number }

/**
 * A resync on the wire at fw2's SYNC port: from the first resync request fw2
 * sent after `since` to the datagram from fw1 that completed `n` distinct
 * entries; how many requests fw2 sent, and how many state messages came back
 * after the first (n per bulk).
 */
function resyncWire(packets: Packet[], n: number, since: number): ResyncWire {
  const requests = syncStream(packets, SYNC.fw2).filter((d) => d.t >= since && d.msgs.some((m) => m.type === NET.ctl && (m.flags & NET.resync) !== 0));
  const first = requests[0];
  if (first === undefined) return { requests: 0, wireMs: null, stateMessages: 0 };
  const seen = new Set<string>();
  let wireMs: number | null = null;
  let stateMessages = 0;
  for (const d of syncStream(packets, SYNC.fw1)) {
    if (d.t < first.t) continue;
    for (const m of d.msgs) {
      if (m.key === undefined) continue;
      stateMessages++;
      seen.add(m.key);
    }
    if (wireMs === null && seen.size >= n) wireMs = r1(d.t - first.t);
  }
  return { requests: requests.length, wireMs, stateMessages };
}

interface CarpdTableRun {
  resync: { durationMs: number | null; entries: number | null; outcome: string | null } & ResyncWire;
  promotion: {
    decisionToCommitMs: number | null; commitMs: number | null; committed: number | null; budgetExceeded: boolean | null;
    /** Kill to the takeover decision (master-down detection). */
    killToDecisionMs: number | null;
    /** Decision to fw2's first VRRP advert as MASTER (the announcement carpd holds back until the commit). */
    decisionToAnnounceMs: number | null;
    /** The commit done to that first advert. */
    commitToAnnounceMs: number | null;
    /** Slowest `carpd status` answer while the takeover and its commit ran. */
    statusMaxMs: number;
    kernelEntries: number;
  };
}

interface BareTableRun {
  /** `conntrackd -n` on the restarted backup: on the wire, until its cache held the table (polled ~1 ms), the command itself. */
  resync: ResyncWire & { presentMs: number; clientMs: number };
  promotion: { commitMs: number; kernelEntries: number };
}

async function kernelEntries(h: Host): Promise<number> {
  return Number((await h.succeed('conntrack', ['-C'])).trim());
}

/** Answer times of `carpd status` every 20 ms until stopped. */
function statusLatency(c: DataplaneCarpd): { stop(): Promise<number[]> } {
  const out: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t0 = performance.now();
      await c.status().catch(() => undefined);
      out.push(performance.now() - t0);
      await sleep(20);
    }
  })();
  return { stop: async () => ((on = false), await loop, out) };
}

async function carpdTableRun(n: number): Promise<CarpdTableRun> {
  return onRig(`table-carpd-${n}`, carpdSide, async ({ t, carpd }) => {
    const [c1, c2] = carpd as [DataplaneCarpd, DataplaneCarpd];
    await loadTable(t.fw1, n);
    await waitExternal(c2, n, 60_000);

    // Resync: the backup restarts (carpd and its conntrackd) while the master holds n states.
    const cap = await Capture.start(t.fw2, 'SYNC', 'udp port 3780', `resync-carpd-${n}`);
    await c2.stop();
    const restartAt = nowMs();
    await c2.start();
    await waitHoldoffReleased(c2, 30_000);
    await waitExternal(c2, n, 30_000);
    await sleep(300);
    const wire = resyncWire(await cap.stop(), n, restartAt);
    const rs = (await c2.syncState()).lastResync;

    // Promotion: the master dies with n states.
    const lat = statusLatency(c2);
    const vrrp = await Capture.start(t.fw2, 'LAN', 'ip proto 112', `vrrp-carpd-${n}`, 96);
    const killAt = nowMs();
    await deadBox(t.rig, c1);
    for (const vip of ['lan', 'wan']) await waitStates([c2], vip, { fw2: 'MASTER' });
    const p = await waitUntil(async () => {
      const lp = (await c2.syncState()).lastPromotion;
      return lp?.committed !== null && lp?.committed !== undefined ? lp : undefined;
    }, { timeoutMs: 20_000, what: 'fw2 to record its promotion' });
    await sleep(300);
    const statusMs = await lat.stop();
    const adverts = await vrrp.stop();
    const decisionAt = Date.parse(p.at);
    const announce = adverts.find((pk) => pk.t > killAt);
    const decisionToAnnounceMs = announce ? r1(announce.t - decisionAt) : null;
    return {
      resync: { durationMs: rs?.durationMs ?? null, entries: rs?.entries ?? null, outcome: rs?.outcome ?? null, ...wire },
      promotion: {
        decisionToCommitMs: p.decisionToCommitMs, commitMs: p.commitMs, committed: p.committed, budgetExceeded: p.budgetExceeded,
        killToDecisionMs: r1(decisionAt - killAt), decisionToAnnounceMs,
        commitToAnnounceMs: decisionToAnnounceMs === null || p.decisionToCommitMs === null ? null : r1(decisionToAnnounceMs - p.decisionToCommitMs),
        statusMaxMs: r1(Math.max(0, ...statusMs)), kernelEntries: await kernelEntries(t.fw2),
      },
    };
  });
}

async function bareTableRun(n: number): Promise<BareTableRun> {
  return onRig(`table-bare-${n}`, bareSide, async ({ t, bare, backupSocket }) => {
    const b2 = (bare as [BareConntrackd, BareConntrackd])[1];
    await loadTable(t.fw1, n);
    await waitExternalAt(backupSocket, n);

    // Resync: the backup's conntrackd restarts (empty), then `conntrackd -n`.
    const cap = await Capture.start(t.fw2, 'SYNC', 'udp port 3780', `resync-bare-${n}`);
    await b2.stop();
    await b2.run();
    const requestAt = nowMs();
    const req = await b2.conntrackd(['-n']);
    await waitUntil(async () => (await externalCache(backupSocket)).active >= n, { timeoutMs: 30_000, intervalMs: 1, what: `fw2: ${n} entries resynced` });
    const presentMs = r1(nowMs() - requestAt);
    await sleep(300);
    const wire = resyncWire(await cap.stop(), n, requestAt);

    // Promotion: commit the external cache into fw2's kernel.
    const c = await b2.conntrackd(['-c']);
    if (!c.ok) throw new Error(`conntrackd -c: ${c.error ?? ''}`);
    return { resync: { ...wire, presentMs, clientMs: r1(req.durationMs) }, promotion: { commitMs: r1(c.durationMs), kernelEntries: await kernelEntries(t.fw2) } };
  });
}

type Nums<K extends string> = Record<K, number | null>;

/** The median of each of `keys` over the runs (runs without it left out). */
function medians<K extends string>(runs: Array<Nums<K>>, keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, r1(median(runs.map((r) => r[k]).filter((x): x is number => x !== null)))])) as Record<K, number>;
}

interface PromotionFigures {
  states: number;
  carpd: Record<'decisionToCommitMs' | 'commitMs' | 'decisionToAnnounceMs' | 'commitToAnnounceMs' | 'statusMaxMs', number> & { runs: Array<CarpdTableRun['promotion']> };
  bare: { commitMs: number; runs: Array<BareTableRun['promotion']> };
  /** carpd decision -> committed / bare `conntrackd -c`. */
  ratio: number | null;
}

interface ResyncFigures {
  entries: number;
  carpd: Record<'durationMs' | 'wireMs', number> & { runs: Array<CarpdTableRun['resync']> };
  bare: Record<'wireMs' | 'presentMs' | 'clientMs', number> & { runs: Array<BareTableRun['resync']> };
  ratioWire: number | null;
  /** carpd lastResync.durationMs / bare request -> table in the cache. */
  ratioPresent: number | null;
}

async function tableSection(): Promise<{ promotion: PromotionFigures[]; resync: ResyncFigures[] }> {
  const promotion: PromotionFigures[] = [];
  const resync: ResyncFigures[] = [];
  for (const n of TABLES) {
    const carpd: CarpdTableRun[] = [];
    const bare: BareTableRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      const c = await carpdTableRun(n);
      carpd.push(c);
      say(`  ${n} states, carpd run ${i + 1}: promotion ${JSON.stringify(c.promotion)}; resync ${JSON.stringify(c.resync)}`);
      const b = await bareTableRun(n);
      bare.push(b);
      say(`  ${n} states, bare run ${i + 1}: commit ${b.promotion.commitMs} ms (${b.promotion.kernelEntries} in the kernel); resync ${JSON.stringify(b.resync)}`);
    }
    const cp = carpd.map((r) => r.promotion);
    const bp = bare.map((r) => r.promotion);
    const p: PromotionFigures = {
      states: n,
      carpd: { ...medians(cp, ['decisionToCommitMs', 'commitMs', 'decisionToAnnounceMs', 'commitToAnnounceMs', 'statusMaxMs'] as const), runs: cp },
      bare: { ...medians(bp, ['commitMs'] as const), runs: bp },
      ratio: null,
    };
    p.ratio = ratio(p.carpd.decisionToCommitMs, p.bare.commitMs);
    promotion.push(p);
    const cr = carpd.map((r) => r.resync);
    const br = bare.map((r) => r.resync);
    const r: ResyncFigures = {
      entries: n,
      carpd: { ...medians(cr, ['durationMs', 'wireMs'] as const), runs: cr },
      bare: { ...medians(br, ['wireMs', 'presentMs', 'clientMs'] as const), runs: br },
      ratioWire: null,
      ratioPresent: null,
    };
    r.ratioWire = ratio(r.carpd.wireMs, r.bare.wireMs);
    r.ratioPresent = ratio(r.carpd.durationMs, r.bare.presentMs);
    resync.push(r);
  }
  return { promotion, resync };
}

// ------------------------------------------------------------------ main

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const out: Record<string, unknown> = { at: new Date().toISOString(), runs: RUNS, quick: QUICK };
  const rows: string[][] = [['figure', 'carpd', 'bare', 'carpd/bare', 'goal']];
  const ms = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${x} ms`);

  if (wanted('sessions')) {
    say(`sessions: ${SESSIONS} TCP sessions through NAT, fw1 dies hard (${RUNS} run${RUNS > 1 ? 's' : ''})`);
    const runs: SessionsRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await sessionsRun();
      runs.push(r);
      say(`  run ${i + 1}: ${r.survived}/${SESSIONS} survived (lost ${JSON.stringify(r.lostReasons)}), fw2 committed ${r.committed} states ${r.decisionToCommitMs} ms after its decision`);
    }
    const survived = median(runs.map((r) => r.survived));
    out.sessions = { conns: SESSIONS, survivedMedian: survived, survivedMin: Math.min(...runs.map((r) => r.survived)), runs };
    rows.push([`sessions surviving a hard failover (of ${SESSIONS})`, `${survived} (min ${Math.min(...runs.map((r) => r.survived))})`, 'n/a', '', 'all']);
  }

  if (wanted('lag')) {
    say(`replication lag: creation on fw1 -> arrival at fw2 (${RUNS} run${RUNS > 1 ? 's' : ''} per rate and side)`);
    const lag = await lagSection();
    out.lag = lag;
    for (const l of lag) {
      rows.push([`replication lag p50 @ ${l.rate}/s`, ms(l.p50Ms.carpd), ms(l.p50Ms.bare), String(l.ratioP50 ?? 'n/a'), 'within 2x']);
      rows.push([`replication lag p99 @ ${l.rate}/s`, ms(l.p99Ms.carpd), ms(l.p99Ms.bare), String(l.ratioP99 ?? 'n/a'), 'within 2x']);
    }
  }

  if (wanted('promotion') || wanted('resync')) {
    say(`promotion and resync with ${TABLES.join(' and ')} states (${RUNS} run${RUNS > 1 ? 's' : ''} per size and side)`);
    const { promotion, resync } = await tableSection();
    if (wanted('promotion')) {
      out.promotion = promotion;
      for (const f of promotion) {
        rows.push([`promotion, decision -> committed, ${f.states} states`, ms(f.carpd.decisionToCommitMs), `${ms(f.bare.commitMs)} (-c)`, String(f.ratio ?? 'n/a'), '']);
        rows.push([`  carpd: decision -> first advert as MASTER`, ms(f.carpd.decisionToAnnounceMs), '', '', 'after the commit']);
        rows.push([`  carpd: committed -> first advert`, ms(f.carpd.commitToAnnounceMs), '', '', '']);
        rows.push([`  carpd: slowest status answer meanwhile`, ms(f.carpd.statusMaxMs), '', '', '']);
      }
    }
    if (wanted('resync')) {
      out.resync = resync;
      for (const f of resync) {
        rows.push([`bulk resync after a backup restart, ${f.entries} entries (wire)`, ms(f.carpd.wireMs), `${ms(f.bare.wireMs)} (-n)`, String(f.ratioWire ?? 'n/a'), '< 200 ms']);
        rows.push([`  request -> table in the cache (carpd: lastResync.durationMs, 50 ms polls; bare: 1 ms polls)`, ms(f.carpd.durationMs), ms(f.bare.presentMs), String(f.ratioPresent ?? 'n/a'), '< 200 ms']);
      }
    }
  }

  out.seconds = Math.round((Date.now() - started) / 1000);
  const text = `\n${table(rows)}\n(${out.seconds} s)\n`;
  if (flags.json) {
    say(text);
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else process.stdout.write(text);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
