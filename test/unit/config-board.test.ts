import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigErrors, formatSize, loadBoard, normalizeMac, normalizePciAddress, parseBoard, parseNicSelector, parseSize } from '../../src/config/index.js';

const ROOT = new URL('../../../', import.meta.url);
const QEMU_PATH = new URL('board/qemu-x86_64.ini', ROOT);
const QEMU = readFileSync(QEMU_PATH, 'utf8');

function boardErrors(text: string): string[] {
  try {
    parseBoard(text, 'b.ini');
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

/** 1-based line of the first line starting with `prefix` after the header `label`. */
function lineAfter(text: string, label: string, prefix: string): number {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === label);
  return lines.findIndex((l, i) => i > start && l.startsWith(prefix)) + 1;
}

describe('board files', () => {
  it('parses board/qemu-x86_64.ini', async () => {
    const board = await loadBoard(QEMU_PATH.pathname);
    assert.equal(board.name, 'qemu-x86_64');
    assert.equal(board.arch, 'x86_64');
    assert.deepEqual(board.console, { device: 'ttyS0', baud: 115200 });
    assert.deepEqual(board.firmware, ['bios', 'uefi']);
    assert.deepEqual(board.modules.required, ['e1000', 'e1000e', 'virtio_net', 'virtio_pci']);
    assert.deepEqual(
      board.nics.map((n) => [n.role, n.match, n.fallback]),
      [
        ['WAN', [{ kind: 'pci', value: '0000:00:03.0' }], 0],
        ['LAN', [{ kind: 'pci', value: '0000:00:04.0' }], 1],
        ['SYNC', [{ kind: 'pci', value: '0000:00:05.0' }], 2],
      ],
    );
    assert.deepEqual(board.disk, { sizeBytes: 512 * 1024 * 1024, configBytes: 16 * 1024 * 1024 });
  });

  it('parses board/sg-4860.ini', async () => {
    const board = await loadBoard(new URL('board/sg-4860.ini', ROOT).pathname);
    assert.equal(board.name, 'sg-4860');
    assert.deepEqual(board.modules, { required: ['igb'], optional: ['e1000e', 'ixgbe'] });
    assert.deepEqual(board.nics.map((n) => n.fallback), [0, 1, 2]);
    assert.deepEqual(board.nics.map((n) => n.role), ['WAN', 'LAN', 'SYNC']);
  });

  it('reports bad values at their line with what is allowed', () => {
    const text = QEMU.replace('console = ttyS0,115200', 'console = ttyS0,115201').replace('firmware = bios, uefi', 'firmware = bios, coreboot').replace('arch = x86_64', 'arch = arm64');
    const errors = boardErrors(text);
    assert.ok(errors.includes(`b.ini:${lineAfter(text, '[board]', 'console')}: [board] console: "ttyS0,115201" is not a serial console (allowed: DEVICE,BAUD such as ttyS0,115200; baud one of 9600, 19200, 38400, 57600, 115200)`), errors.join('\n'));
    assert.ok(errors.includes(`b.ini:${lineAfter(text, '[board]', 'firmware')}: [board] firmware: "coreboot" is not a boot firmware (allowed: bios, uefi)`), errors.join('\n'));
    assert.ok(errors.includes(`b.ini:${lineAfter(text, '[board]', 'arch')}: [board] arch: "arm64" is not a known value (allowed: x86_64)`), errors.join('\n'));
  });

  it('checks NIC selectors, fallbacks and required roles', () => {
    const badSelector = QEMU.replace('match = pci:0000:00:04.0', 'match = pci:00:04.0, usb:1-1');
    assert.deepEqual(boardErrors(badSelector), [`b.ini:${lineAfter(badSelector, '[nic "LAN"]', 'match')}: [nic "LAN"] match: "usb:1-1" is not a NIC selector (allowed: pci:0000:00:14.0, mac:00:08:a2:0a:0b:0c, driver:igb)`]);

    const sharedFallback = QEMU.replace('fallback = 2', 'fallback = 1');
    assert.deepEqual(boardErrors(sharedFallback), [`b.ini:${lineAfter(sharedFallback, '[nic "SYNC"]', 'fallback')}: [nic "SYNC"] fallback: 1 is already the fallback of LAN (allowed: a distinct index per role)`]);

    const sharedPci = QEMU.replace('match = pci:0000:00:05.0', 'match = pci:0000:00:03.0');
    assert.deepEqual(boardErrors(sharedPci), [`b.ini:${lineAfter(sharedPci, '[nic "SYNC"]', 'match')}: [nic "SYNC"] match: pci:0000:00:03.0 already selects the WAN port`]);

    const noSync = QEMU.slice(0, QEMU.indexOf('[nic "SYNC"]')) + QEMU.slice(QEMU.indexOf('\n[disk]'));
    assert.deepEqual(boardErrors(noSync), ['b.ini:1: missing [nic "SYNC"] section (allowed: a [nic] section for each of WAN, LAN, SYNC)']);

    const badRole = QEMU.replace('[nic "SYNC"]', '[nic "HA"]');
    assert.ok(boardErrors(badRole).some((e) => e.includes('[nic "HA"]: "HA" is not a port role (allowed: WAN, LAN, SYNC, OPT1, OPT2, ...)')));
  });

  it('checks disk sizes and unknown keys and sections', () => {
    const text = QEMU.replace('config = 16M', 'config = 1G').replace('size = 512M', 'size = 512M\nblocks = 4');
    const errors = boardErrors(text);
    assert.ok(errors.some((e) => /\[disk\] config: the config partition must be smaller than the disk/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /\[disk\] blocks: unknown key \(allowed: size, config\)/.test(e)), errors.join('\n'));
    const extra = `${QEMU}\n[gpu]\nname = none\n`;
    assert.ok(boardErrors(extra).some((e) => /\[gpu\]: unknown section type "gpu" \(allowed: \[board\], \[modules\], \[nic "ROLE"\], \[disk\]\)/.test(e)));
  });

  it('parses sizes, selectors, PCI and MAC addresses', () => {
    assert.equal(parseSize('512M'), 512 * 1024 * 1024);
    assert.equal(parseSize('2G'), 2 * 1024 * 1024 * 1024);
    assert.equal(parseSize('1024K'), 1024 * 1024);
    assert.throws(() => parseSize('100K'), /whole number of MiB/);
    assert.throws(() => parseSize('lots'), /is not a size/);
    assert.equal(formatSize(32 * 1024 * 1024), '32M');
    assert.equal(formatSize(2 * 1024 * 1024 * 1024), '2G');
    assert.deepEqual(parseNicSelector('mac:00:08:A2:0A:0B:0C'), { kind: 'mac', value: '00:08:a2:0a:0b:0c' });
    assert.deepEqual(parseNicSelector('pci:00:14.1'), { kind: 'pci', value: '0000:00:14.1' });
    assert.deepEqual(parseNicSelector('driver:igb'), { kind: 'driver', value: 'igb' });
    assert.equal(normalizePciAddress('/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0'), '0000:01:00.0');
    assert.equal(normalizePciAddress('pci-0000:00:14.3'), '0000:00:14.3');
    assert.equal(normalizePciAddress('eth0'), undefined);
    assert.equal(normalizeMac('00-08-A2-0A-0B-0C'), '00:08:a2:0a:0b:0c');
    assert.equal(normalizeMac('00:08:a2:0a:0b'), undefined);
  });
});
