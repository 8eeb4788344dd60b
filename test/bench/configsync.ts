/**
 * Config sync benchmark (root): how long from a change committed on the
 * primary until it is active in the secondary's kernel. Prints figures,
 * asserts nothing.
 *
 *   node dist/test/bench/configsync.js [--json] [--changes N] [--warmup N]
 *
 * The namespace rig's two firewalls run the config-sync runner (real
 * HTTPS, basic auth, pinned certificate, real nft), as in
 * test/rig/configsync-*.test.ts. Each change gives the alias "bench" a new
 * member (198.18.0.<i>) used by a rule, applied on fw1 through its control
 * socket, as `carpd config apply` does. Measured per change:
 *
 *   commit -> active   fw1's commit time (it reports it, epoch ms) until an
 *                      `nft monitor` in fw2's namespace, an observer
 *                      independent of carpd, prints the new element
 *   commit -> answer   fw1's own figure: commit until fw2 answered the push
 *                      (fw2 answers after its nft load returned)
 *   fw2 apply          what fw2 spent: validate, render, nft check and load, commit
 *   request -> active  from sending `config apply` to fw1 until active on fw2
 *                      (adds fw1's own validate/render/nft/commit)
 */
import { parseArgs } from 'node:util';
import { Rig, type RigProcess } from '../rig/netns.js';
import { EXAMPLE_SITE, syncPair, withRulesBefore } from '../rig/configsync-rig.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    changes: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
  },
});
const CHANGES = Number(values.changes);
const WARMUP = Number(values.warmup);
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};
const epochNow = () => performance.timeOrigin + performance.now();

function siteWith(i: number): string {
  return withRulesBefore(EXAMPLE_SITE, `[alias "bench"]\ntype = host\nmembers = 198.18.0.${i}\n\n[rule "bench"]\ninterface = WAN\naction = block\nsource = bench`);
}

interface Sample {
  commitToActive: number;
  commitToAnswer: number;
  fw2Apply: number;
  requestToActive: number;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(rank(50)), p90: r(rank(90)), p99: r(rank(99)), min: r(s[0] ?? NaN), max: r(s[s.length - 1] ?? NaN), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  process.stderr.write('configsync benchmark: needs root (network namespaces, nft)\n');
  process.exit(2);
}

const rig = await Rig.create('cs-bench');
let monitor: RigProcess | undefined;
try {
  log(`config sync benchmark: ${CHANGES} changes (+${WARMUP} warm-up), fw1 -> fw2 over XML-RPC/HTTPS in namespaces, real nft`);
  const { fw1, fw2, topo } = await syncPair(rig);
  monitor = topo.fw2.spawn('nft', ['monitor', 'ruleset'], { name: 'nft-monitor' });
  await new Promise((r) => setTimeout(r, 300)); // let the monitor subscribe
  const samples: Sample[] = [];
  for (let i = 1; i <= WARMUP + CHANGES; i++) {
    const seen = monitor.waitForOutput(new RegExp(`198\\.18\\.0\\.${i}\\b`), 30_000).then(epochNow);
    const sent = epochNow();
    const res = await fw1.applyText(siteWith(i), { by: 'bench' });
    if (!res.ok || res.synced !== true) throw new Error(`change ${i} not synced: ${JSON.stringify(res)}`);
    const active = await seen;
    const peer = (res.peers as { latencyMs: number; applyMs: number }[])[0];
    const committedAt = Number(res.committedAt);
    if (i > WARMUP && peer !== undefined) {
      samples.push({ commitToActive: active - committedAt, commitToAnswer: peer.latencyMs, fw2Apply: peer.applyMs, requestToActive: active - sent });
    }
  }
  const figures = {
    changes: samples.length,
    commitToActiveMs: stats(samples.map((s) => s.commitToActive)),
    commitToAnswerMs: stats(samples.map((s) => s.commitToAnswer)),
    fw2ApplyMs: stats(samples.map((s) => s.fw2Apply)),
    requestToActiveMs: stats(samples.map((s) => s.requestToActive)),
    goal: { p50CommitToActiveMs: 200 },
    fw2Revision: (await fw2.status()).revision,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } else {
    const row = (label: string, s: ReturnType<typeof stats>) =>
      log(`${label.padEnd(18)} p50 ${String(s.p50).padStart(6)}  p90 ${String(s.p90).padStart(6)}  p99 ${String(s.p99).padStart(6)}  min ${String(s.min).padStart(6)}  max ${String(s.max).padStart(6)}  mean ${String(s.mean).padStart(6)} ms`);
    row('commit -> active', figures.commitToActiveMs);
    row('commit -> answer', figures.commitToAnswerMs);
    row('fw2 apply', figures.fw2ApplyMs);
    row('request -> active', figures.requestToActiveMs);
    log(`goal: p50 commit -> active under 200 ms: ${figures.commitToActiveMs.p50 < 200 ? 'met' : 'NOT met'}`);
  }
} finally {
  await monitor?.kill('SIGTERM');
  await rig.teardown();
}
