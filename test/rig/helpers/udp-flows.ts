/**
 * UDP through NAT across a failover, for the state-sync rig. Runs as its own
 * process inside a rig host:
 *
 *   node udp-flows.js serve --listen 0.0.0.0:5353
 *   node udp-flows.js run --target 203.0.113.10:5353 --duration 10 [--interval 50] [--sport 40053]
 *   node udp-flows.js load --target 203.0.113.10 --rate 10000 --count 20000 [--sport 20000 --sockets 500 --dport 30000]
 *
 * `serve` answers every datagram with the same bytes and, on SIGUSR1 or
 * SIGTERM, prints what it saw as one JSON line: `sources` (addresses, as the
 * sessions tool's server prints them), `peers` ("address:port") and
 * `flowPeers` (the "address:port" the long-lived flow came from: one entry
 * means its NAT mapping never changed).
 * `run` keeps two kinds of traffic going for --duration seconds and prints a
 * JSON report:
 *   - one long-lived flow from a fixed source port, a datagram every
 *     --interval ms (a VPN or VoIP stream: one conntrack entry for its life);
 *   - a DNS-style query every --interval ms from a fresh socket (a new flow,
 *     a new NAT mapping each time), answered or not within 1 s.
 * Per second of the run it counts what was answered, so a test sees what
 * happened after a failover without a timing assertion.
 *
 * `load` creates new connections at a steady rate for a state-sync
 * benchmark: --count single datagrams, each a new 5-tuple (so a new
 * conntrack entry on the firewall), paced at --rate per second. Datagram k
 * goes from port --sport + k % --sockets to port --dport + floor(k /
 * --sockets) of --target, which need not answer (drop them there). It
 * prints {"load": {sent, seconds, rate}}.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

function serve(listen: string): void {
  const { host, port } = hostPort(listen);
  const seen = new Set<string>();
  const flowPeers = new Set<string>();
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const peer = `${rinfo.address}:${rinfo.port}`;
    seen.add(peer);
    if (msg.subarray(0, 5).toString() === 'flow ') flowPeers.add(peer);
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(port, host, () => process.stderr.write(`udp-flows: serving on ${listen}\n`));
  const report = () => {
    const sources = [...new Set([...seen].map((p) => p.slice(0, p.lastIndexOf(':'))))].sort();
    process.stdout.write(JSON.stringify({ sources, peers: [...seen].sort(), flowPeers: [...flowPeers].sort() }) + '\n');
  };
  process.on('SIGUSR1', report);
  process.on('SIGTERM', () => {
    report();
    process.exit(0);
  });
}

export interface UdpReport {
  /** Wall-clock ms (Date.now()) when the run began: second i of the timeline starts at startedAt + 1000 i. */
  startedAt: number;
  seconds: number;
  flow: { sport: number; sent: number; answered: number; maxGapMs: number };
  queries: { sent: number; answered: number };
  /** Per second of the run: answers on the flow, queries answered (by the second they were sent in). */
  timeline: Array<{ flow: number; queries: number; queriesSent: number }>;
}

async function run(o: { target: string; duration: number; interval: number; sport: number }): Promise<void> {
  const { host, port } = hostPort(o.target);
  const started = Date.now();
  const second = () => Math.floor((Date.now() - started) / 1000);
  const timeline: UdpReport['timeline'] = Array.from({ length: Math.ceil(o.duration) + 2 }, () => ({ flow: 0, queries: 0, queriesSent: 0 }));
  const report: UdpReport = { startedAt: started, seconds: 0, flow: { sport: o.sport, sent: 0, answered: 0, maxGapMs: 0 }, queries: { sent: 0, answered: 0 }, timeline };

  const flow = createSocket('udp4');
  let lastAnswer = Date.now();
  flow.on('message', () => {
    const now = Date.now();
    report.flow.maxGapMs = Math.max(report.flow.maxGapMs, now - lastAnswer);
    lastAnswer = now;
    report.flow.answered++;
    const t = timeline[second()];
    if (t) t.flow++;
  });
  await new Promise<void>((r) => flow.bind(o.sport, r));
  process.stderr.write(`udp-flows: running from port ${o.sport} to ${o.target}\n`);

  const open = new Set<Socket>();
  const tick = setInterval(() => {
    report.flow.sent++;
    flow.send(Buffer.from(`flow ${report.flow.sent}`), port, host);
    // A query from a fresh socket: a new 5-tuple, a new NAT mapping.
    const q = createSocket('udp4');
    open.add(q);
    const sentIn = second();
    report.queries.sent++;
    const t = timeline[sentIn];
    if (t) t.queriesSent++;
    const done = () => {
      clearTimeout(timer);
      open.delete(q);
      q.close();
    };
    const timer = setTimeout(done, 1000);
    q.on('message', () => {
      report.queries.answered++;
      const s = timeline[sentIn];
      if (s) s.queries++;
      done();
    });
    q.send(Buffer.from(`query ${report.queries.sent}`), port, host);
  }, o.interval);

  await new Promise((r) => setTimeout(r, o.duration * 1000));
  clearInterval(tick);
  await new Promise((r) => setTimeout(r, 1100)); // the last queries' answers
  for (const q of open) q.close();
  flow.close();
  report.seconds = (Date.now() - started) / 1000;
  report.timeline = timeline.slice(0, Math.ceil(o.duration));
  process.stdout.write(JSON.stringify(report) + '\n');
}

async function load(o: { target: string; rate: number; count: number; sport: number; sockets: number; dport: number }): Promise<void> {
  const socks = await Promise.all(
    Array.from({ length: o.sockets }, (_, i) => new Promise<Socket>((resolve) => {
      const sock = createSocket('udp4');
      sock.bind(o.sport + i, () => resolve(sock));
    })),
  );
  process.stderr.write(`udp-flows: loading ${o.count} flows at ${o.rate}/s\n`);
  const payload = Buffer.from('new');
  const started = performance.now();
  let k = 0;
  await new Promise<void>((done) => {
    // Whatever is due by now, every millisecond: bursts of rate/1000.
    const step = () => {
      const due = Math.min(o.count, Math.floor(((performance.now() - started) * o.rate) / 1000));
      for (; k < due; k++) (socks[k % o.sockets] as Socket).send(payload, o.dport + Math.floor(k / o.sockets), o.target);
      if (k >= o.count) done();
      else setTimeout(step, 1);
    };
    step();
  });
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 100)); // let the last sends leave
  for (const sock of socks) sock.close();
  process.stdout.write(JSON.stringify({ load: { sent: k, seconds, rate: Math.round(k / seconds) } }) + '\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      listen: { type: 'string', default: '0.0.0.0:5353' },
      target: { type: 'string' },
      duration: { type: 'string', default: '10' },
      interval: { type: 'string', default: '50' },
      sport: { type: 'string' },
      rate: { type: 'string', default: '2000' },
      count: { type: 'string', default: '2000' },
      sockets: { type: 'string', default: '500' },
      dport: { type: 'string', default: '30000' },
    },
  });
  if (positionals[0] === 'serve') return serve(values.listen);
  if (positionals[0] === 'run' && values.target !== undefined) {
    void run({ target: values.target, duration: Number(values.duration), interval: Number(values.interval), sport: Number(values.sport ?? 40053) });
    return;
  }
  if (positionals[0] === 'load' && values.target !== undefined) {
    void load({ target: values.target, rate: Number(values.rate), count: Number(values.count), sport: Number(values.sport ?? 20000), sockets: Number(values.sockets), dport: Number(values.dport) });
    return;
  }
  process.stderr.write(
    'usage: udp-flows serve --listen ADDR:PORT | udp-flows run --target ADDR:PORT [--duration S --interval MS --sport N]\n' +
      '       udp-flows load --target ADDR [--rate N --count N --sport N --sockets N --dport N]\n',
  );
  process.exit(2);
}

// Only as a command (the test runner may load this file without arguments).
if (['serve', 'run', 'load'].includes(process.argv[2] ?? '')) main();
