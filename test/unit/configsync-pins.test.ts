/** Certificate trust decisions, and one-at-a-time latest-wins pushing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer, decidePin } from '../../src/agent/configsync/index.js';

const A = 'AA:'.repeat(31) + 'AA';
const B = 'BB:'.repeat(31) + 'BB';
const now = new Date('2024-05-01T10:00:00Z');

describe('pinning the peer\'s certificate', () => {
  it('trusts on first use, logging the fingerprint, and pins it', () => {
    const d = decidePin({ peer: 'fw2', offered: A.toLowerCase(), tofu: true, now });
    assert.deepEqual(d, { accept: true, pin: { fingerprint: A, at: now.toISOString(), how: 'tofu' }, log: `trusting fw2's certificate on first use: ${A} (compare with carpd status on fw2; pinned from now on)` });
  });

  it('accepts the pinned certificate and refuses a changed one, saying how to accept it', () => {
    const stored = { fingerprint: A, at: now.toISOString(), how: 'tofu' as const };
    assert.deepEqual(decidePin({ peer: 'fw2', offered: A, stored, tofu: true, now }), { accept: true });
    const d = decidePin({ peer: 'fw2', offered: B, stored, tofu: true, now });
    assert.ok(!d.accept);
    assert.match(d.message, new RegExp(`fw2's certificate changed: pinned ${A} .* now offered ${B}\\. .*carpd sync trust fw2 ${B}`));
  });

  it('prefers the site\'s fingerprint over anything else', () => {
    assert.deepEqual(decidePin({ peer: 'fw2', offered: A, configured: A, stored: { fingerprint: B, at: '', how: 'tofu' }, tofu: true, now }), { accept: true });
    const d = decidePin({ peer: 'fw2', offered: B, configured: A, tofu: true, now });
    assert.ok(!d.accept && /not the one the site pins/.test(d.message));
  });

  it('refuses an unknown certificate when tofu = no', () => {
    const d = decidePin({ peer: 'fw2', offered: A, tofu: false, now });
    assert.ok(!d.accept);
    assert.match(d.message, /\[sync\] tofu = no: set \[node "fw2"\] fingerprint = AA:/);
  });
});

describe('pushes to one peer', () => {
  it('run one at a time; changes during a push share one follow-up push that starts after them', async () => {
    let running = 0;
    let maxRunning = 0;
    let state = 0;
    const seen: number[] = [];
    const gates: (() => void)[] = [];
    const c = new Coalescer(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const carried = state;
      await new Promise<void>((r) => gates.push(r));
      seen.push(carried);
      running--;
      return carried;
    });
    state = 1;
    const p1 = c.schedule();
    state = 2;
    const p2 = c.schedule();
    state = 3;
    const p3 = c.schedule();
    assert.equal(p2, p3, 'one queued push for all changes made meanwhile');
    gates.shift()?.();
    assert.equal(await p1, 1);
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
    assert.equal(await p2, 3, 'the follow-up carries the latest state');
    assert.deepEqual(seen, [1, 3]);
    assert.equal(maxRunning, 1);
    assert.ok(!c.busy);
  });
});
