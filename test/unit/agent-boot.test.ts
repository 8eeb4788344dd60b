import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSite } from '../../src/config/site.js';
import { DEFAULT_SITE } from '../../src/builder/pipeline.js';
import { planNetwork } from '../../src/agent/boot.js';
import { StateStore } from '../../src/agent/store.js';

test('boot plan: renames mapped ports, gives the node its site addresses, default routes per family', async () => {
  const site = parseSite(await readFile(DEFAULT_SITE, 'utf8'), DEFAULT_SITE);
  const found = ['eth0', 'eth1', 'eth2'].map((ifname, i) => ({ ifname, mac: `52:54:00:00:00:0${i}`, pciPath: `0000:00:0${3 + i}.0` }));
  const plan = planNetwork(site, 'fw2', { WAN: 'eth0', LAN: 'eth1', SYNC: 'eth2' }, found);
  assert.deepEqual(plan.renames.map((r) => `${r.from}->${r.to}`), ['eth0->WAN', 'eth1->LAN', 'eth2->SYNC']);
  const fw2 = site.nodes.find((n) => n.name === 'fw2')!;
  assert.deepEqual(
    plan.addresses.filter((a) => a.dev === 'LAN').map((a) => a.cidr),
    fw2.interfaces.LAN,
  );
  assert.deepEqual(plan.routes.map((r) => `${r.family} ${r.via} ${r.dev}`).sort(), ['4 203.0.113.1 WAN', '6 2001:db8:0:1::1 WAN']);
  assert.deepEqual(plan.problems, []);
});

test('boot plan reports site interfaces the board could not find', async () => {
  const site = parseSite(await readFile(DEFAULT_SITE, 'utf8'), DEFAULT_SITE);
  const plan = planNetwork(site, 'fw1', { WAN: 'eth0', LAN: 'eth1' }, [
    { ifname: 'eth0', mac: '52:54:00:00:00:01' },
    { ifname: 'eth1', mac: '52:54:00:00:00:02' },
  ]);
  assert.equal(plan.problems.length, 1);
  assert.match(plan.problems[0]!, /^SYNC: .*no such port/);
  assert.ok(plan.addresses.every((a) => a.dev !== 'SYNC'));
});

test('state store: revisions are numbered, kept to a bound, and the active config is the newest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'carpenter-store-'));
  try {
    const store = new StateStore(dir);
    assert.equal(await store.currentRevision(), 0);
    for (let i = 1; i <= 5; i++) await store.commitSite(`# config ${i}\n`, { by: 'test', from: 'unit' }, 3);
    assert.equal(await store.currentRevision(), 5);
    assert.equal(await store.readSite(), '# config 5\n');
    assert.deepEqual((await store.revisions()).map((r) => r.revision), [3, 4, 5]);
    assert.ok((await readdir(dir)).every((f) => !f.includes('.tmp-')), 'no temp files left');
    const s = await store.updateState((st) => (st.bootCount += 1));
    assert.equal(s.bootCount, 1);
    assert.equal((await store.readState()).bootCount, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('boot plan as one ip batch: renames with the link down, then addresses, links up, routes', async () => {
  const { ipBatch } = await import('../../src/agent/boot.js');
  const site = parseSite(await readFile(DEFAULT_SITE, 'utf8'), DEFAULT_SITE);
  const found = ['eth0', 'eth1', 'eth2'].map((ifname, i) => ({ ifname, mac: `52:54:00:00:00:0${i}` }));
  const lines = ipBatch(planNetwork(site, 'fw1', { WAN: 'eth0', LAN: 'eth1', SYNC: 'eth2' }, found));
  assert.deepEqual(lines.slice(0, 2), ['link set dev eth0 down', 'link set dev eth0 name WAN']);
  const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(idx(/^addr add 192\.168\.1\.2\/24 dev LAN$/) > idx(/^link set dev eth2 name SYNC$/));
  assert.ok(idx(/^link set dev LAN up$/) > idx(/^addr add/));
  assert.ok(idx(/^route replace default via 203\.0\.113\.1 dev WAN$/) > idx(/^link set dev WAN up$/));
  assert.ok(lines.includes('route replace default via 2001:db8:0:1::1 dev WAN'));
});
