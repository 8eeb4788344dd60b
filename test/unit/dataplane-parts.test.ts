/**
 * The dataplane's pure parts: restart backoff, resync completion, the
 * serial command queue, and the plan (what a node's sysctls, ruleset and
 * conntrackd.conf are).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSite } from '../../src/config/index.js';
import { RestartBackoff } from '../../src/agent/dataplane/backoff.js';
import { conntrackdPaths, planDataplane } from '../../src/agent/dataplane/plan.js';
import { ResyncWatch } from '../../src/agent/dataplane/resync.js';
import { Serial, isSkipped } from '../../src/agent/dataplane/serial.js';
import { readFileSync } from 'node:fs';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');

describe('RestartBackoff', () => {
  it('doubles from the initial delay up to the ceiling', () => {
    const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next(50)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.failures, 6);
  });
  it('a run that lasted stableMs starts the sequence again', () => {
    const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 10_000 });
    b.next(10);
    b.next(10);
    assert.equal(b.next(10_000), 100);
    assert.equal(b.next(10), 200);
  });
});

describe('ResyncWatch', () => {
  const s = (external: number, packetsRecv: number) => ({ external, packetsRecv });

  it('done once the peer was heard and the external cache stayed unchanged for the quiet window', () => {
    const w = new ResyncWatch(1000, s(0, 10), { quietMs: 200, timeoutMs: 5000 });
    assert.equal(w.sample(s(0, 10), 1050).state, 'pending');
    assert.equal(w.sample(s(30_000, 40), 1060).state, 'pending');
    assert.equal(w.sample(s(50_000, 60), 1080).state, 'pending');
    assert.equal(w.sample(s(50_000, 61), 1200).state, 'pending', 'quiet for 120 ms only');
    assert.deepEqual(w.sample(s(50_000, 61), 1280), { state: 'done', entries: 50_000, durationMs: 80 });
  });

  it('an empty table is done once the peer is heard (its alive message)', () => {
    const w = new ResyncWatch(0, s(0, 5), { quietMs: 200 });
    assert.equal(w.sample(s(0, 5), 900).state, 'pending', 'nothing heard yet');
    assert.deepEqual(w.sample(s(0, 6), 1000), { state: 'done', entries: 0, durationMs: 0 });
  });

  it('gives up after the timeout when the peer is not heard', () => {
    const w = new ResyncWatch(0, s(7, 5), { quietMs: 200, timeoutMs: 3000 });
    assert.equal(w.sample(s(7, 5), 2999).state, 'pending');
    assert.deepEqual(w.sample(undefined, 3000), { state: 'timeout', entries: 7, durationMs: 0, peerHeard: false });
  });

  it('without a baseline the first sample becomes one (it proves nothing)', () => {
    const w = new ResyncWatch(0, undefined, { quietMs: 100 });
    assert.equal(w.sample(s(100, 50), 500).state, 'pending');
    assert.equal(w.sample(s(100, 51), 600).state, 'done');
  });
});

describe('Serial', () => {
  it('runs jobs one at a time in order; pending ones can be dropped', async () => {
    const order: string[] = [];
    const q = new Serial();
    let release!: () => void;
    const first = q.push(async () => {
      order.push('start 1');
      await new Promise<void>((r) => (release = r));
      order.push('end 1');
      return 1;
    });
    const second = q.push(async () => {
      order.push('2');
      return 2;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(q.dropPending(), 1);
    const third = q.push(async () => {
      order.push('3');
      return 3;
    });
    release();
    assert.equal(await first, 1);
    assert.ok(isSkipped(await second));
    assert.equal(await third, 3);
    await q.idle();
    assert.deepEqual(order, ['start 1', 'end 1', '3']);
  });

  it('a failing job rejects its own promise only', async () => {
    const q = new Serial();
    const bad = q.push(async () => {
      throw new Error('boom');
    });
    const good = q.push(async () => 'ok');
    await assert.rejects(bad, /boom/);
    assert.equal(await good, 'ok');
  });
});

describe('planDataplane', () => {
  const site = parseSite(EXAMPLE, 'ha-pair.ini');
  const paths = conntrackdPaths('/run/carpd');

  it('keeps conntrackd\'s files under the run dir, one set per node', () => {
    assert.deepEqual(paths, {
      dir: '/run/carpd/conntrackd',
      conf: '/run/carpd/conntrackd/conntrackd.conf',
      socket: '/run/carpd/conntrackd/conntrackd.ctl',
      lockFile: '/run/carpd/conntrackd/conntrackd.lock',
      logFile: '/run/carpd/conntrackd/conntrackd.log',
      pidFile: '/run/carpd/conntrackd/conntrackd.pid',
    });
    const conf = planDataplane(site, 'fw2', { paths }).conntrackd ?? '';
    for (const line of ['Path /run/carpd/conntrackd/conntrackd.ctl', 'LockFile /run/carpd/conntrackd/conntrackd.lock', 'LogFile /run/carpd/conntrackd/conntrackd.log']) {
      assert.ok(conf.includes(line), line);
    }
  });

  it('names VIP devices like carpd\'s macvlans and passes conntrackd\'s port on SYNC only between the nodes', () => {
    const plan = planDataplane(site, 'fw1', { paths, stateSync: { port: 3790 } });
    assert.match(plan.ruleset, /define if_WAN = \{ "WAN", "WAN-vh49" \}/);
    assert.match(plan.ruleset, /define if_LAN = \{ "LAN", "LAN-vh1", "LAN-vh2" \}/);
    assert.match(plan.ruleset, /ip saddr 172\.16\.1\.2 ip daddr 172\.16\.1\.1 udp dport 3790 accept/);
    assert.match(plan.conntrackd ?? '', /Port 3790/);
    assert.deepEqual(plan.transport?.peers, [{ name: 'fw2', address: '172.16.1.2' }]);
  });

  it('applies conntrack sysctls after the ruleset (nf_conntrack loads with it), forwarding first', () => {
    const plan = planDataplane(site, 'fw1', { paths });
    assert.equal(plan.sysctlsBefore[0]?.path, 'net/ipv4/ip_forward');
    assert.ok(plan.sysctlsBefore.every((s) => s.needs === undefined));
    assert.deepEqual(plan.sysctlsAfter.map((s) => s.path.split('/').pop()), [
      'nf_conntrack_tcp_loose', 'nf_conntrack_tcp_be_liberal', 'nf_conntrack_events', 'nf_conntrack_max', 'nf_conntrack_buckets',
    ]);
  });

  it('no conntrackd when the site turns state sync off', () => {
    const off = parseSite(EXAMPLE.replace('state_sync = yes', 'state_sync = no'), 'ha-pair.ini');
    const plan = planDataplane(off, 'fw1', { paths });
    assert.equal(plan.conntrackd, null);
    assert.equal(plan.transport, null);
    assert.match(plan.ruleset, /# State sync: off\./);
  });
});
