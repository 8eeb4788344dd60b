import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CarpStatusView } from '../../src/agent/carp/service.js';
import type { ConfigSyncStatus } from '../../src/agent/configsync/config-sync.js';
import type { DataplaneStatus } from '../../src/agent/dataplane/service.js';
import { buildSummary, SummaryWriter, type SummaryInputs } from '../../src/agent/summary.js';

function inputs(state: string, reachable: boolean | null): SummaryInputs {
  const carp = {
    running: true,
    enabled: true,
    maintenance: false,
    demotion: { counter: 0, reasons: {} },
    vips: [{ name: 'lan', state, holding: state === 'MASTER', lastTransition: { from: 'BACKUP', to: state, reason: 'timeout', at: '2026-11-25T00:00:00.000Z' } }],
  } as unknown as CarpStatusView;
  const sync = {
    enabled: true,
    drift: { detected: false, areas: [] },
    peers: [{ node: 'fw2', address: '172.16.1.2', lastSuccessAt: '2026-11-25T00:00:01.000Z', peerRevision: 3 }],
  } as unknown as ConfigSyncStatus;
  const dataplane = {
    firewall: { enabled: true, loaded: true },
    stateSync: { enabled: true, role: 'master', peer: { name: 'fw2', address: '172.16.1.2', reachable }, cache: { internal: 5, external: 2 }, holdoff: { active: false } },
  } as unknown as DataplaneStatus;
  return { node: 'fw1', role: 'primary', revision: 3, carp, sync, dataplane };
}

test('summary: VIP states, state-sync peer and config-sync peers from the status views', () => {
  const s = buildSummary(inputs('MASTER', false));
  assert.deepEqual(s.vips.map((v) => [v.name, v.state, v.holding]), [['lan', 'MASTER', true]]);
  assert.deepEqual(s.stateSync, { enabled: true, role: 'master', peerReachable: false, internal: 5, external: 2, holdoff: false });
  assert.deepEqual(s.configSync.peers, [{ name: 'fw2', lastSync: '2026-11-25T00:00:01.000Z', lastError: null, peerRevision: 3 }]);
  assert.equal(s.revision, 3);
});

test('summary writer: rewrites the file when the summary changes, atomically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'summary-'));
  try {
    let current = inputs('BACKUP', true);
    const errors: unknown[] = [];
    const w = new SummaryWriter(dir, () => buildSummary(current), (e) => errors.push(e));
    await w.update();
    assert.equal(JSON.parse(readFileSync(w.path, 'utf8')).vips[0].state, 'BACKUP');
    current = inputs('MASTER', true);
    await w.update();
    assert.equal(JSON.parse(readFileSync(w.path, 'utf8')).vips[0].state, 'MASTER');
    assert.deepEqual(errors, []);
    rmSync(dir, { recursive: true });
    await w.update(); // the directory is gone: reported, not thrown
    assert.equal(errors.length, 0, 'unchanged summary: nothing to write');
    current = inputs('BACKUP', true);
    await w.update();
    assert.equal(errors.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
