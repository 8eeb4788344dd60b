/**
 * What carpd writes to the config partition survives a reboot: a config
 * applied on the running appliance is still the active one (same revision,
 * same contents) after the VM reboots, and the boot counter kept counting.
 * A rejected config leaves the running one untouched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../src/lab/machine.js';
import { buildNode, cleanup, machineFor, scratchDir } from './images.js';

let dir: string;
const machines: Machine[] = [];
before(async () => {
  dir = await scratchDir('persist');
});
after(() => cleanup(dir, machines));

const READY = /carpd\[fw1\]: ready version=\S+ node=fw1 role=primary[^\n]*revision=(\d+)[^\n]*persistent=(\w+)/;

test('config applied by the agent survives a reboot; a bad one is rejected and changes nothing', { timeout: 600_000 }, async () => {
  const m = await machineFor(await buildNode('fw1'), 'bios', dir, 'fw1-persist');
  machines.push(m);
  await m.start();
  const first = await m.waitForConsole(READY, 180_000);
  assert.equal(first[1], '1', 'a fresh image starts at revision 1 (the factory config)');
  assert.equal(first[2], 'true', 'the state dir is on the persistent partition');

  // Change the WAN VIP's advskew on the appliance itself and apply it through carpd.
  await m.succeed(`sed '/^\\[vip "wan"\\]/,/^\\[/ s/^advskew = 0/advskew = 7/' /etc/carpenter/site.ini > /tmp/new.ini`);
  assert.match(await m.succeed('grep -c "advskew = 7" /tmp/new.ini'), /^1/);
  // fw1 boots alone here: the config is applied locally and the push to fw2 fails, which the CLI
  // reports and signals with its exit code.
  const applied = await m.exec('carpd config apply /tmp/new.ini');
  assert.match(applied.stdout, /config applied: revision 2/);
  assert.match(applied.stdout, /fw2: NOT SYNCED: .*unreachable/);
  assert.equal(applied.exitCode, 1);

  // A broken file is refused with file:line and key, and revision 2 stays active.
  await m.succeed(`sed 's/^vhid = 49/vhid = 300/' /tmp/new.ini > /tmp/bad.ini`);
  const bad = await m.exec('carpd config apply /tmp/bad.ini');
  assert.notEqual(bad.exitCode, 0);
  assert.match(bad.stdout, /bad\.ini:\d+: \[vip "wan"\] vhid: .*300/);
  const before = JSON.parse(await m.succeed('carpd status --json'));
  assert.equal(before.config.revision, 2);
  assert.equal(before.vips.find((v: { name: string }) => v.name === 'wan').advskew, 7);
  assert.equal(before.bootCount, 1);

  // Reboot (busybox init runs rcK: carpd stops, /cfg is unmounted cleanly) and look again.
  const mark = m.output.length;
  m.send('reboot');
  const second = await m.waitForConsole(READY, 240_000, mark);
  assert.equal(second[1], '2', 'revision 2 is active after the reboot');
  const after = JSON.parse(await m.succeed('carpd status --json'));
  assert.equal(after.config.revision, 2);
  assert.equal(after.bootCount, 2, 'the boot counter on the config partition kept counting');
  assert.equal(after.vips.find((v: { name: string }) => v.name === 'wan').advskew, 7, 'the applied change is still there');
  assert.match(await m.succeed('ls /cfg/carpd/revisions'), /000002\.ini/);
  await m.crash();
});
