/**
 * Long-lived TCP sessions across a failover: what "your download just keeps
 * going" means, measured. Runs as its own process inside a namespace (a lab
 * host or a rig host):
 *
 *   node sessions.js serve --listen 0.0.0.0:7000
 *   node sessions.js probe --target 203.0.113.1:7000 --conns 200 --interval 100 \
 *                          --duration 30 --bulk-mb 100 --bulk-mbps 80 [--json]
 *
 * The probe opens --conns connections that each send a 16-byte message every
 * --interval ms and expect it echoed, plus one bulk download of a seeded byte
 * stream whose sha256 both sides can compute. At the end (or on SIGTERM) it
 * prints what survived: a session is lost if it was reset, closed or errored,
 * or if no echo arrived during the last 5 s while others were getting theirs.
 * The server also reports the source address it saw (NAT check).
 */
import { createHash } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

/** xorshift32 byte stream: the same bytes for the same seed, fast enough for a bulk transfer. */
export function* seededChunks(seed: number, total: number, chunk = 64 * 1024): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  let left = total;
  while (left > 0) {
    const n = Math.min(chunk, left);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[i] = x;
    }
    yield Buffer.from(words.buffer, 0, n);
    left -= n;
  }
}

export function expectedDigest(seed: number, total: number): string {
  const h = createHash('sha256');
  for (const c of seededChunks(seed, total)) h.update(c);
  return h.digest('hex');
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

/** serve: echo 16-byte messages; "BULK <bytes> <seed>\n" as the first line starts a bulk stream instead. */
function serve(listen: string): void {
  const { host, port } = parseHostPort(listen);
  const peers = new Set<string>();
  const server = createServer((sock) => {
    peers.add(String(sock.remoteAddress));
    let first = true;
    sock.on('data', (d: Buffer) => {
      if (first && d.subarray(0, 5).toString() === 'BULK ') {
        first = false;
        const [, bytes, seed, rate] = d.toString().trim().split(' ');
        const gen = seededChunks(Number(seed), Number(bytes));
        // Paced at `rate` bytes/s (0: as fast as possible) so a download can span a failover.
        const perTick = Number(rate) > 0 ? Math.max(1, Math.round(Number(rate) / 20 / 65536)) : Infinity;
        const pump = () => {
          let sent = 0;
          for (let r = gen.next(); !r.done; r = gen.next()) {
            const more = sock.write(r.value);
            if (++sent >= perTick) return void setTimeout(pump, 50);
            if (!more) return void sock.once('drain', pump);
          }
          sock.end();
        };
        pump();
        return;
      }
      first = false;
      sock.write(d); // echo
    });
    sock.on('error', () => undefined);
  });
  server.listen(port, host, () => process.stderr.write(`sessions: serving on ${listen}\n`));
  const report = () => process.stdout.write(JSON.stringify({ sources: [...peers].sort() }) + '\n');
  process.on('SIGTERM', () => {
    report();
    process.exit(0);
  });
  process.on('SIGUSR1', report);
}

interface Session {
  id: number;
  sock: Socket;
  sent: number;
  echoed: number;
  lastEcho: number;
  maxStallMs: number;
  failure?: string;
}

async function probe(o: { target: string; conns: number; interval: number; duration: number; bulkMb: number; bulkRate: number; json: boolean }): Promise<void> {
  const { host, port } = parseHostPort(o.target);
  const sessions: Session[] = [];
  const started = Date.now();
  for (let id = 0; id < o.conns; id++) {
    const sock = connect({ host, port });
    sock.setNoDelay(true);
    const s: Session = { id, sock, sent: 0, echoed: 0, lastEcho: Date.now(), maxStallMs: 0 };
    let pending = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 16) {
        pending = pending.subarray(16);
        const now = Date.now();
        // Between two echoes only: before the first, the wait is the probe opening its other sessions.
        if (s.echoed > 0) s.maxStallMs = Math.max(s.maxStallMs, now - s.lastEcho);
        s.lastEcho = now;
        s.echoed++;
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (s.failure ??= e.code ?? e.message));
    sock.on('close', () => (s.failure ??= 'closed'));
    sessions.push(s);
    await new Promise((r) => setTimeout(r, 2)); // don't SYN-flood the firewall's conntrack at once
  }
  const tick = setInterval(() => {
    for (const s of sessions) {
      if (s.failure || s.sock.connecting) continue;
      const msg = Buffer.alloc(16);
      msg.writeUInt32BE(s.id, 0);
      msg.writeUInt32BE(++s.sent, 4);
      s.sock.write(msg);
    }
  }, o.interval);

  const bulk = { bytes: o.bulkMb * 1024 * 1024, received: 0, complete: false, sha256: '', expected: '', error: '' as string, seconds: 0 };
  const bulkDone = new Promise<void>((resolve) => {
    if (bulk.bytes === 0) return resolve();
    const h = createHash('sha256');
    const t = Date.now();
    const sock = connect({ host, port }, () => sock.write(`BULK ${bulk.bytes} 42 ${o.bulkRate}\n`));
    sock.on('data', (d: Buffer) => {
      h.update(d);
      bulk.received += d.length;
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (bulk.error ||= e.code ?? e.message));
    sock.on('close', () => {
      bulk.sha256 = h.digest('hex');
      bulk.seconds = (Date.now() - t) / 1000;
      resolve();
    });
  });

  const progress = setInterval(() => {
    const alive = sessions.filter((s) => !s.failure).length;
    process.stderr.write(`sessions: ${alive}/${sessions.length} alive, bulk ${(bulk.received / 1048576).toFixed(0)}/${o.bulkMb} MiB\n`);
  }, 1000);

  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, o.duration * 1000);
    process.once('SIGTERM', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  clearInterval(tick);
  clearInterval(progress);
  await Promise.race([bulkDone, new Promise((r) => setTimeout(r, 1000))]);
  bulk.expected = bulk.bytes ? expectedDigest(42, bulk.bytes) : '';
  bulk.complete = bulk.bytes > 0 && bulk.received === bulk.bytes && bulk.sha256 === bulk.expected;

  const now = Date.now();
  const lost = sessions.filter((s) => s.failure || now - s.lastEcho > 5000);
  const report = {
    target: o.target,
    seconds: (now - started) / 1000,
    sessionsTotal: sessions.length,
    sessionsLost: lost.length,
    lostReasons: Object.fromEntries(
      [...new Set(lost.map((s) => s.failure ?? 'stalled'))].map((r) => [r, lost.filter((s) => (s.failure ?? 'stalled') === r).length]),
    ),
    maxStallMs: Math.max(0, ...sessions.filter((s) => !s.failure).map((s) => s.maxStallMs)),
    messagesSent: sessions.reduce((n, s) => n + s.sent, 0),
    messagesEchoed: sessions.reduce((n, s) => n + s.echoed, 0),
    bulk,
  };
  for (const s of sessions) s.sock.destroy();
  process.stdout.write(JSON.stringify(report, null, o.json ? 0 : 2) + '\n');
  process.exit(0);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      listen: { type: 'string', default: '0.0.0.0:7000' },
      target: { type: 'string' },
      conns: { type: 'string', default: '200' },
      interval: { type: 'string', default: '100' },
      duration: { type: 'string', default: '30' },
      'bulk-mb': { type: 'string', default: '0' },
      'bulk-mbps': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] === 'serve') return serve(values.listen);
  if (positionals[0] === 'probe' && values.target) {
    void probe({
      target: values.target,
      conns: Number(values.conns),
      interval: Number(values.interval),
      duration: Number(values.duration),
      bulkMb: Number(values['bulk-mb']),
      bulkRate: (Number(values['bulk-mbps']) * 1e6) / 8,
      json: values.json,
    });
    return;
  }
  process.stderr.write('usage: sessions serve --listen ADDR:PORT | sessions probe --target ADDR:PORT [--conns N --interval MS --duration S --bulk-mb N --bulk-mbps N --json]\n');
  process.exit(2);
}

if (process.argv[1]?.endsWith('sessions.js')) main();
