/**
 * SyncDriver against a stand-in conntrackd (a function recording commands
 * and answering `-s` from a mutable table): which commands each election
 * change runs and in what order, the commit gating the takeover, and the
 * preemption holdoff around resyncs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncDriver, type SyncDriverOptions } from '../../src/agent/dataplane/sync-driver.js';
import type { ConntrackdResult } from '../../src/agent/statesync/index.js';

const quiet = { info() {}, warn() {}, error() {} };
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function statsText(internal: number, external: number, recv: number): string {
  const cache = (n: number) => `current active connections:\t${n}\nconnections created:\t\t${n}\tfailed:\t0\nconnections updated:\t\t0\tfailed:\t0\nconnections destroyed:\t\t0\tfailed:\t0\n`;
  return `cache internal:\n${cache(internal)}\ncache external:\n${cache(external)}\nUDP traffic (active device=SYNC):\n  0 Bytes sent  0 Bytes recv\n  0 Pckts sent  ${recv} Pckts recv\n  0 Error send  0 Error recv\n`;
}

/** A conntrackd that answers at once, except where a test holds a command. */
class FakeConntrackd {
  calls: string[] = [];
  internal = 0;
  external = 0;
  recv = 0;
  /** Commands (e.g. '-c') held until released. */
  readonly held = new Map<string, Array<() => void>>();
  hold(args: string): void {
    this.held.set(args, []);
  }
  release(args: string): void {
    for (const f of this.held.get(args) ?? []) f();
    this.held.delete(args);
  }
  /** Commands other than -s, in order. */
  get commands(): string[] {
    return this.calls.filter((c) => c !== '-s');
  }
  readonly run = async (args: readonly string[]): Promise<ConntrackdResult> => {
    const a = args.join(' ');
    this.calls.push(a);
    const waiters = this.held.get(a);
    if (waiters !== undefined) await new Promise<void>((r) => waiters.push(r));
    if (a === '-c') this.internal += this.external;
    if (a === '-f') this.external = 0;
    const stdout = a === '-s' ? statsText(this.internal, this.external, this.recv) : '';
    return { args: [...args], exitCode: 0, stdout, stderr: '', durationMs: 1, ok: true };
  };
}

function driver(ct: FakeConntrackd, extra: Partial<SyncDriverOptions> = {}) {
  const holdoff = { held: false, changes: [] as string[], hold() { this.held = true; this.changes.push('hold'); }, release() { this.held = false; this.changes.push('release'); } };
  const d = new SyncDriver({ log: quiet, conntrackd: ct.run, holdoff, statsPollMs: 0, resync: { quietMs: 30, timeoutMs: 400, pollMs: 5 }, ...extra });
  return { d, holdoff };
}

async function until(what: string, f: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await tick(2);
  }
}

describe('SyncDriver', () => {
  it('startup: requests the table and holds off preemption until it has arrived', async () => {
    const ct = new FakeConntrackd();
    const { d, holdoff } = driver(ct);
    d.holdUntilResynced();
    d.transition({ vip: 'lan', to: 'BACKUP' });
    d.transition({ vip: 'wan', to: 'BACKUP' });
    await until('-n sent', () => ct.commands.includes('-n'));
    assert.deepEqual(ct.commands, ['-n'], 'one request for the node, not one per VIP');
    assert.equal(holdoff.held, true);
    ct.external = 50_000;
    ct.recv = 40;
    await until('released', () => !holdoff.held);
    const s = d.status();
    assert.equal(s.lastResync?.outcome, 'done');
    assert.equal(s.lastResync?.entries, 50_000);
    assert.deepEqual(holdoff.changes, ['hold', 'release']);
    await d.stop();
  });

  it('a peer that never answers: the holdoff ends after the timeout, with an error', async () => {
    const ct = new FakeConntrackd();
    const { d, holdoff } = driver(ct);
    d.transition({ vip: 'lan', to: 'BACKUP' });
    await until('released', () => !holdoff.held);
    const s = d.status();
    assert.equal(s.lastResync?.outcome, 'timeout');
    assert.equal(s.lastResync?.peerHeard, false);
    assert.equal(s.errors.count, 1);
    assert.match(s.errors.recent[0]?.message ?? '', /no resync from the peer within 400 ms/);
    await d.stop();
  });

  it('promotion: the takeover waits for -c, and only for -c; then -f -R -B', async () => {
    const ct = new FakeConntrackd();
    const { d, holdoff } = driver(ct);
    d.transition({ vip: 'lan', to: 'BACKUP' });
    await until('-n', () => ct.commands.includes('-n'));
    ct.external = 1000;
    ct.hold('-c');
    d.transition({ vip: 'lan', to: 'MASTER' });
    assert.equal(holdoff.held, false, 'a master holds nothing off');
    let announced = false;
    const hook = d.beforeMaster().then(() => (announced = true));
    // The second VIP's takeover shares the one commit.
    const hook2 = d.beforeMaster();
    d.transition({ vip: 'wan', to: 'MASTER' });
    await tick(20);
    assert.equal(announced, false, 'held while the commit runs');
    ct.release('-c');
    await hook;
    await hook2;
    await until('-B', () => ct.commands.includes('-B'));
    assert.deepEqual(ct.commands, ['-n', '-c', '-f', '-R', '-B']);
    const p = d.status().lastPromotion;
    assert.equal(p?.ok, true);
    assert.equal(p?.committed, 1000, 'read before the flush');
    assert.equal(p?.budgetExceeded, false);
    assert.equal(d.status().role, 'master');
    await d.stop();
  });

  it('a commit longer than the budget: the takeover goes ahead, the commit goes on', async () => {
    const ct = new FakeConntrackd();
    const { d } = driver(ct, { commitBudgetMs: 30 });
    ct.hold('-c');
    d.transition({ vip: 'lan', to: 'MASTER' });
    const t = Date.now();
    await d.beforeMaster();
    assert.ok(Date.now() - t < 1000);
    assert.equal(d.status().lastPromotion?.budgetExceeded, true);
    assert.deepEqual(ct.commands, ['-c']);
    ct.release('-c');
    await until('-B', () => ct.commands.includes('-B'));
    await d.stop();
  });

  it('a promotion drops what a demotion still had queued', async () => {
    const ct = new FakeConntrackd();
    const { d } = driver(ct);
    d.transition({ vip: 'lan', to: 'MASTER' });
    await until('-B', () => ct.commands.includes('-B'));
    ct.hold('-t');
    d.transition({ vip: 'lan', to: 'BACKUP' });
    await until('-t running', () => ct.commands.includes('-t'));
    d.transition({ vip: 'lan', to: 'MASTER' });
    ct.release('-t');
    await d.beforeMaster();
    await until('second -B', () => ct.commands.filter((c) => c === '-B').length === 2);
    assert.deepEqual(ct.commands, ['-c', '-f', '-R', '-B', '-t', '-c', '-f', '-R', '-B'], 'the demotion\'s -n never ran');
    await d.stop();
  });

  it('all elections in INIT: fault (-t), holding off until a later resync', async () => {
    const ct = new FakeConntrackd();
    const { d, holdoff } = driver(ct);
    d.transition({ vip: 'lan', to: 'MASTER' });
    d.transition({ vip: 'lan', to: 'INIT' });
    await until('-t', () => ct.commands.includes('-t'));
    assert.equal(d.status().role, 'fault');
    assert.equal(holdoff.held, true);
    await d.stop();
  });

  it('a restarted conntrackd is brought up to date: bulk send on a master, resync on a backup', async () => {
    const ct = new FakeConntrackd();
    const { d } = driver(ct);
    d.transition({ vip: 'lan', to: 'MASTER' });
    await until('-B', () => ct.commands.includes('-B'));
    d.restarted();
    await until('second -B', () => ct.commands.filter((c) => c === '-B').length === 2);
    d.transition({ vip: 'lan', to: 'BACKUP' });
    await until('-n', () => ct.commands.includes('-n'));
    d.restarted();
    await until('second -n', () => ct.commands.filter((c) => c === '-n').length === 2);
    await d.stop();
  });

  it('status: caches, peer and link from conntrackd -s', async () => {
    const ct = new FakeConntrackd();
    const { d } = driver(ct, { peer: { name: 'fw2', address: '172.16.1.2' } });
    ct.internal = 12;
    ct.external = 34;
    await d.sample();
    const s = d.status();
    assert.deepEqual(s.cache.internal, 12);
    assert.deepEqual(s.cache.external, 34);
    assert.equal(s.link?.device, 'SYNC');
    assert.equal(s.peer?.name, 'fw2');
    assert.equal(s.peer?.reachable, null, 'one sample proves nothing');
    assert.equal(s.role, 'starting');
    await d.stop();
  });
});
