/**
 * The example pair's images boot under QEMU with SeaBIOS (legacy BIOS) and
 * with OVMF (UEFI): carpd reports its version, node and role on the serial
 * console, the NICs carry the names WAN, LAN, SYNC and the node's addresses
 * from the site file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSite } from '../../src/config/site.js';
import type { Site } from '../../src/config/types.js';
import { REPO_ROOT } from '../../src/builder/agent.js';
import { DEFAULT_SITE } from '../../src/builder/pipeline.js';
import type { Machine } from '../../src/lab/machine.js';
import { buildNode, cleanup, machineFor, scratchDir } from './images.js';

const BOOT_TIMEOUT = 180_000;

let site: Site;
let version: string;
let dir: string;
const machines: Machine[] = [];

before(async () => {
  site = await loadSite(DEFAULT_SITE);
  version = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version;
  dir = await scratchDir('boot');
});

after(() => cleanup(dir, machines));

for (const nodeName of ['fw1', 'fw2']) {
  for (const firmware of ['bios', 'uefi'] as const) {
    describe(`${nodeName} with ${firmware === 'bios' ? 'SeaBIOS' : 'OVMF (UEFI)'}`, { timeout: 600_000 }, () => {
      test('boots to a ready carpd with the site addresses on WAN, LAN, SYNC', async () => {
        const node = site.nodes.find((n) => n.name === nodeName)!;
        const report = await buildNode(nodeName);
        const m = await machineFor(report, firmware, dir, `${nodeName}-${firmware}`);
        machines.push(m);
        await m.start();

        const ready = await m.waitForConsole(/carpd\[(\S+)\]: ready version=(\S+) node=(\S+) role=(\S+)/, BOOT_TIMEOUT);
        assert.equal(ready[2], version, 'carpd logs the checkout version');
        assert.equal(ready[3], nodeName);
        assert.equal(ready[4], node.role);

        // The boot step logged each interface with what the board and site gave it...
        for (const iface of ['WAN', 'LAN', 'SYNC']) {
          const line = await m.waitForConsole(new RegExp(`carpd\\[${nodeName}\\]: interface ${iface} (.*)`), 5000);
          assert.match(line[1]!, new RegExp(`addresses=${node.interfaces[iface]!.join(',').replace(/\./g, '\\.')}`));
        }

        // ...and the kernel agrees: the interfaces exist under those names with those addresses.
        const links = JSON.parse(await m.succeed('ip -j addr show')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
        for (const iface of ['WAN', 'LAN', 'SYNC']) {
          const link = links.find((l) => l.ifname === iface);
          assert.ok(link, `${iface} exists (got ${links.map((l) => l.ifname).join(', ')})`);
          const have = link.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
          for (const cidr of node.interfaces[iface]!) assert.ok(have.includes(cidr), `${iface} has ${cidr} (has ${have.join(' ')})`);
        }

        // carpd answers status, in both forms, from its persistent config partition.
        const status = JSON.parse(await m.succeed('carpd status --json'));
        assert.equal(status.node, nodeName);
        assert.equal(status.role, node.role);
        assert.equal(status.version, version);
        assert.equal(status.config.persistent, true);
        assert.match(await m.succeed('carpd status'), new RegExp(`on ${nodeName}, ${node.role} of cluster ${site.cluster.name}`));

        // The dataplane is up: the site's ruleset loaded (nft resolves its names in the image),
        // the conntrack sysctls exist (the ruleset's ct rules loaded nf_conntrack), conntrackd runs.
        const dp = status.dataplane;
        assert.equal(dp.firewall.loaded, true, `firewall: ${JSON.stringify(dp.firewall)}`);
        assert.deepEqual(dp.sysctls.failed, []);
        assert.equal(dp.stateSync.enabled, true);
        assert.equal(dp.stateSync.conntrackd.running, true, JSON.stringify(dp.stateSync.conntrackd));
        assert.match(await m.succeed('nft list chain inet carpenter input'), /policy drop/);
        assert.equal(status.carp.demotion.reasons.firewall, undefined, 'a loaded firewall does not demote');

        // The firmware really was what the test asked for.
        const efi = await m.exec('test -d /sys/firmware/efi');
        assert.equal(efi.exitCode === 0, firmware === 'uefi', 'EFI runtime present only under OVMF');
        await m.crash();
      });
    });
  }
}

describe('the SG-4860 image', { timeout: 600_000 }, () => {
  test('boots under QEMU too, naming its ports by the board fallback order when the PCI paths differ', async () => {
    const { buildImage } = await import('../../src/builder/pipeline.js');
    const { IMAGE_OUT } = await import('./images.js');
    const report = await buildImage({ board: 'sg-4860', site: DEFAULT_SITE, node: 'fw1', out: join(IMAGE_OUT, 'sg-4860'), quiet: true });
    assert.equal(report.board, 'sg-4860');
    // QEMU 7.2 has no igb model; the board's optional e1000e driver serves QEMU's e1000e NICs
    const m = await machineFor(report, 'uefi', dir, 'sg4860-fw1', 'e1000e');
    machines.push(m);
    await m.start();
    await m.waitForConsole(/carpd\[fw1\]: ready version=\S+ node=fw1 role=primary/, BOOT_TIMEOUT);
    for (const [i, iface] of ['WAN', 'LAN', 'SYNC'].entries()) {
      // the ports sit in slots 3-5, not at the board's 00:14.x, so no selector matches and the fallbacks decide
      await m.waitForConsole(new RegExp(`interface ${iface} was=eth${i} .*rule="fallback ${i}"`), 5000);
    }
    await m.crash();
  });
});
