/**
 * The `ip` coprocess of the takeover path (src/agent/carp/ip.ts): groups of
 * commands complete in order, errors belong to their own group, and a dead
 * coprocess is replaced. Only read-only `ip` commands: no root needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { IpBatch, runIpOnce } from '../../src/agent/carp/ip.js';

const noIp = spawnSync('ip', ['-V']).error ? 'iproute2 (ip) is not installed' : false;

describe('ip batch coprocess', { skip: noIp }, () => {
  it('runs groups in order and reports each group\'s own errors', async () => {
    const ip = new IpBatch();
    const [a, b, c] = await Promise.all([
      ip.run(['link show dev lo']),
      ip.run(['link show dev lo', 'link show dev no-such-dev0']),
      ip.run(['addr show dev lo']),
    ]);
    assert.deepEqual(a, { ok: true, stderr: '' });
    assert.equal(b?.ok, false);
    assert.match(b?.stderr ?? '', /no-such-dev0/);
    assert.deepEqual(c, { ok: true, stderr: '' });
    ip.close();
  });

  it('starts a new coprocess after close, and the one-shot runner agrees', async () => {
    const ip = new IpBatch();
    assert.equal((await ip.run(['link show dev lo'])).ok, true);
    ip.close();
    assert.equal((await ip.run(['link show dev lo'])).ok, true);
    assert.equal((await ip.run(['link show dev no-such-dev1'])).ok, false);
    ip.close();
    assert.equal((await runIpOnce(['link show dev lo'])).ok, true);
    assert.equal((await runIpOnce(['link show dev no-such-dev2'])).ok, false);
  });
});
