import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleName, parseModulesDep, parseSoftdeps, selectModules } from '../../src/builder/kmod.js';
import { espSizeBytes, syslinuxCfg, systemdBootEntry, type EspInput } from '../../src/builder/esp.js';
import { diskBytes, sfdiskScript, type DiskLayout } from '../../src/builder/disk.js';

const DEP = `kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/drivers/net/ethernet/intel/e1000/e1000.ko:
kernel/net/netfilter/nft-fib.ko: kernel/net/netfilter/nf_tables.ko
kernel/net/netfilter/nf_tables.ko:
`;

test('module names treat - and _ alike', () => {
  assert.equal(moduleName('kernel/net/netfilter/nft-fib.ko'), 'nft_fib');
  assert.equal(moduleName('x/e1000.ko.xz'), 'e1000');
});

test('module selection is the closure over hard and soft dependencies', () => {
  const dep = parseModulesDep(DEP);
  const soft = parseSoftdeps('softdep ext4 pre: crc32c_generic crc32c\n');
  const sel = selectModules(['ext4', 'nft_fib', 'unix'], dep, soft, new Set(['unix']));
  assert.deepEqual(sel.paths, [
    'kernel/crypto/crc32c_generic.ko',
    'kernel/fs/ext4/ext4.ko',
    'kernel/fs/jbd2/jbd2.ko',
    'kernel/fs/mbcache.ko',
    'kernel/lib/crc16.ko',
    'kernel/net/netfilter/nf_tables.ko',
    'kernel/net/netfilter/nft-fib.ko',
  ]);
  assert.deepEqual(sel.builtin, ['unix']);
  assert.throws(() => selectModules(['e1000', 'igb', 'nope'], dep, soft, new Set()), /unknown kernel modules: igb, nope/);
});

const esp: EspInput = {
  kernel: '/k',
  initrds: [
    { name: 'base.img', path: '/b' },
    { name: 'agent.img', path: '/a' },
    { name: 'site.img', path: '/s' },
  ],
  cmdline: 'console=ttyS0,115200 panic=10',
  serial: { port: 0, baud: 115200 },
  volumeId: 'c0ffee00',
  epoch: 0,
};

test('both boot loaders load the same kernel and initrd layers in the same order', () => {
  const sys = syslinuxCfg(esp);
  assert.match(sys, /^SERIAL 0 115200$/m);
  assert.match(sys, /^\s+INITRD \/base\.img,\/agent\.img,\/site\.img$/m);
  assert.match(sys, /^\s+APPEND console=ttyS0,115200 panic=10$/m);
  const sd = systemdBootEntry(esp);
  assert.deepEqual(sd.match(/^initrd .*$/gm), ['initrd /base.img', 'initrd /agent.img', 'initrd /site.img']);
  assert.match(sd, /^options console=ttyS0,115200 panic=10$/m);
});

test('boot partition is sized to its contents plus slack, in whole MiB', () => {
  const MiB = 1024 * 1024;
  const size = espSizeBytes(50 * MiB);
  assert.equal(size % MiB, 0);
  assert.ok(size > 50 * MiB && size < 60 * MiB);
});

test('GPT layout: ESP is legacy-BIOS bootable, config partition follows, GUIDs fixed', () => {
  const MiB = 1024 * 1024;
  const l: DiskLayout = {
    espBytes: 54 * MiB,
    configBytes: 16 * MiB,
    diskGuid: '11111111-2222-4333-8444-555555555555',
    espGuid: '11111111-2222-4333-8444-000000000001',
    configGuid: '11111111-2222-4333-8444-000000000002',
    configFsUuid: '11111111-2222-4333-8444-000000000003',
  };
  const s = sfdiskScript(l);
  assert.match(s, /^label-id: 11111111-2222-4333-8444-555555555555$/m);
  assert.match(s, /start=2048, size=110592, type=uefi, name="CARPBOOT", .*attrs="LegacyBIOSBootable"/);
  assert.match(s, /start=112640, size=32768, type=linux, name="CARPCFG"/);
  assert.equal(diskBytes(l), 72 * MiB);
});
