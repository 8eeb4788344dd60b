import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigErrors } from '../../src/config/errors.js';
import { DEFAULT_TOPOLOGY } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/lab/topology.js';
import { parsePing } from '../../src/lab/measure/ping.js';

test('the default lab topology: two firewalls on wan/lan/sync, client on lan, upstream on wan', async () => {
  const t = parseTopology(await readFile(DEFAULT_TOPOLOGY, 'utf8'), DEFAULT_TOPOLOGY);
  assert.equal(t.name, 'ha-pair');
  assert.match(t.site, /build\/sites\/ha-pair\.ini$/);
  assert.deepEqual(t.networks.map((n) => `${n.name}:${n.kind}`), ['wan:bridged', 'lan:bridged', 'sync:internal']);
  assert.deepEqual(t.nodes.map((n) => n.name), ['fw1', 'fw2']);
  assert.deepEqual(t.nodes[0]!.nics, [{ role: 'WAN', network: 'wan' }, { role: 'LAN', network: 'lan' }, { role: 'SYNC', network: 'sync' }]);
  assert.equal(t.nodes[0]!.model, 'e1000');
  assert.deepEqual(t.hosts.find((h) => h.name === 'client')!.gateways, ['vip:lan', 'vip:lan6']);
});

test('topology errors name file, line, section and key', () => {
  const text = [
    '[lab]', 'name = t', 'site = x.ini',
    '[network "lan"]', 'kind = internal',
    '[node "fw1"]', 'nics = WAN:wan',
    '[host "client"]', 'network = lan', 'addresses = 10.0.0.1',
  ].join('\n');
  assert.throws(
    () => parseTopology(text, '/x/t.ini'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigErrors);
      const msgs = err.errors.map((e) => e.message);
      assert.ok(msgs.some((m) => /t\.ini:7: \[node "fw1"\] nics: network "wan" is not defined/.test(m)), msgs.join('\n'));
      assert.ok(msgs.some((m) => /t\.ini:9: \[host "client"\] network: "lan" is internal/.test(m)), msgs.join('\n'));
      assert.ok(msgs.some((m) => /t\.ini:10: \[host "client"\] addresses: .*not address\/prefix/.test(m)), msgs.join('\n'));
      return true;
    },
  );
});

test('ping parsing: loss and the longest gap between replies', () => {
  const lines = [];
  let t = 1_700_000_000;
  for (let seq = 1; seq <= 100; seq++) {
    t += 0.01;
    if (seq > 40 && seq <= 70) continue; // 30 replies missing: ~300 ms outage
    lines.push(`[${t.toFixed(6)}] 64 bytes from 192.168.1.1: icmp_seq=${seq} ttl=64 time=0.4 ms`);
  }
  lines.push('--- 192.168.1.1 ping statistics ---', '100 packets transmitted, 70 received, 30% packet loss, time 1000ms');
  const r = parsePing(lines.join('\n'), 10);
  assert.equal(r.sent, 100);
  assert.equal(r.lost, 30);
  assert.equal(r.outageMs, 300, '30 consecutive requests lost at 10 ms');
  assert.ok(Math.abs(r.maxGapMs - 310) <= 1, String(r.maxGapMs));
  const stalled = parsePing('[1.000000] 64 bytes from x: icmp_seq=1\n[1.800000] 64 bytes from x: icmp_seq=2\n2 packets transmitted, 2 received', 10);
  assert.equal(stalled.outageMs, 0, 'nothing lost: a pinger that was not scheduled is not an outage');
  assert.equal(stalled.maxGapMs, 800);

  // Stopped with 4 requests unanswered (40 ms at 10 ms): in flight, not lost.
  const tail = (n: number) => {
    const l = Array.from({ length: 10 }, (_, i) => `[1.${i}00000] 64 bytes from x: icmp_seq=${i + 1}`);
    return parsePing([...l, `${10 + n} packets transmitted, 10 received`].join('\n'), 10);
  };
  assert.deepEqual([tail(4).sent, tail(4).lost, tail(4).inFlight], [10, 0, 4]);
  // Unanswered for longer than the reply timeout (150 x 10 ms): a real outage at the end.
  assert.deepEqual([tail(150).sent, tail(150).lost, tail(150).inFlight, tail(150).outageMs], [160, 150, 0, 1500]);
});

test('session tool: the bulk stream is the same bytes for the same seed, whatever the chunking', async () => {
  const { seededChunks, expectedDigest } = await import('../../src/lab/tools/sessions.js');
  const { createHash } = await import('node:crypto');
  const a = Buffer.concat([...seededChunks(42, 100_003, 4096)]);
  const b = Buffer.concat([...seededChunks(42, 100_003, 65536)]);
  assert.equal(a.length, 100_003);
  assert.deepEqual(a, b);
  assert.equal(createHash('sha256').update(a).digest('hex'), expectedDigest(42, 100_003));
  assert.notDeepEqual(Buffer.concat([...seededChunks(43, 1000)]), a.subarray(0, 1000));
});
