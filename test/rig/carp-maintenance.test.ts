/**
 * Planned handovers on the namespace rig (root only):
 *   - persistent maintenance mode: the master hands over with no ping lost
 *     at 10 ms intervals (CARP and VRRPv3), stays demoted across a carpd
 *     restart (the flag lives in the state dir), and leaving it brings the
 *     VIPs back (preempt), again without loss;
 *   - temporary disable / enable of CARP on a node, which does not survive
 *     a carpd restart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rigSkipReason, sleep, withRig } from './netns.js';
import { HA, haTopology } from './topology.js';
import { VIPS, rigSite, startCarpd, startPinger, waitHolder, waitStates } from './carpd.js';

const skip = rigSkipReason();
const UPSTREAM = '203.0.113.10';

describe('carpd maintenance and disable', { skip: skip ?? false }, () => {
  test('maintenance: handover without loss at 10 ms, persists across a carpd restart, leave returns the VIPs', async () => {
    await withRig('carp-maint', async (rig) => {
      const { fw1, fw2, client } = await haTopology(rig);
      // LAN by CARP (bow-out advert), WAN by VRRPv3 (priority 0): both handover paths.
      const site = rigSite([VIPS.lan, { ...VIPS.wan, protocol: 'vrrp3', intervalMs: 100 }]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      await client.succeed('ping', ['-c1', '-W2', UPSTREAM]);

      let ping = startPinger(client, UPSTREAM, 10);
      await sleep(500);
      assert.match(await c1.cli(['maintenance', 'enter']), /maintenance mode entered/);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'BACKUP', fw2: 'MASTER' });
      await sleep(500);
      let r = await ping.stop();
      assert.ok(r.received > 50, `pings answered: ${JSON.stringify(r)}`);
      assert.equal(r.lost, 0, `no ping lost during the handover: ${JSON.stringify(r)}`);
      assert.equal((await c1.vip('lan')).lastTransition?.reason, 'maintenance');
      assert.equal((await c2.vip('lan')).lastTransition?.reason, 'resign-received');
      const s1 = await c1.status();
      assert.equal(s1.carp.maintenance, true);
      assert.equal(s1.vips.find((v) => v.name === 'lan')?.effectiveAdvskew, 240);
      const saved = JSON.parse(readFileSync(join(c1.stateDir, 'state.json'), 'utf8')) as { carp?: { maintenance?: boolean } };
      assert.equal(saved.carp?.maintenance, true, 'maintenance is in the state dir');
      assert.match(await c1.cli(['status']), /MAINTENANCE MODE since/);

      // carpd restarts (as after a reboot): still in maintenance, fw2 keeps the VIPs.
      await c1.restart();
      assert.match(c1.proc.output, /maintenance mode \(persisted\) is on/);
      await sleep(1500); // long enough for fw1 to have preempted if it were going to
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'BACKUP', fw2: 'MASTER' });
      assert.equal((await c1.status()).carp.maintenance, true);
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw2, stableMs: 300 });

      // Leaving: fw1 preempts; the old master keeps the VIP until it hears the new one.
      ping = startPinger(client, UPSTREAM, 10);
      await sleep(300);
      await c1.cli(['maintenance', 'leave']);
      for (const vip of ['lan', 'wan']) await waitStates([c1, c2], vip, { fw1: 'MASTER', fw2: 'BACKUP' });
      await sleep(300);
      r = await ping.stop();
      assert.equal(r.lost, 0, `no ping lost when the VIPs return: ${JSON.stringify(r)}`);
      assert.equal((await c1.status()).carp.maintenance, false);
      const after = JSON.parse(readFileSync(join(c1.stateDir, 'state.json'), 'utf8')) as { carp?: { maintenance?: boolean } };
      assert.equal(after.carp?.maintenance, false);
    });
  });

  test('carp disable / enable: temporary, the VIPs move and come back; a restart enables again', async () => {
    await withRig('carp-disable', async (rig) => {
      const { fw1, fw2 } = await haTopology(rig);
      const site = rigSite([{ ...VIPS.lan, protocol: 'vrrp3', intervalMs: 100 }]);
      const [c1, c2] = await Promise.all([startCarpd(fw1, 'fw1', site), startCarpd(fw2, 'fw2', site)]);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });

      await c1.cli(['carp', 'disable']);
      await waitStates([c1, c2], 'lan', { fw1: 'INIT', fw2: 'MASTER' });
      await waitHolder([fw1, fw2], HA.vip.LAN, { expect: fw2, stableMs: 300 });
      assert.equal((await c1.status()).carp.enabled, false);
      assert.equal((await c1.vip('lan')).lastTransition?.reason, 'disabled');
      assert.match(await c1.cli(['status']), /election: DISABLED/);

      await c1.cli(['carp', 'enable']);
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });

      await c1.cli(['carp', 'disable']);
      await waitStates([c1, c2], 'lan', { fw1: 'INIT', fw2: 'MASTER' });
      await c1.restart();
      assert.equal((await c1.status()).carp.enabled, true, 'disable does not outlive carpd');
      await waitStates([c1, c2], 'lan', { fw1: 'MASTER', fw2: 'BACKUP' });
    });
  });
});
