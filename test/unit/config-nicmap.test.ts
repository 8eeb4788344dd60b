import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapNics, parseNicSelector, type FoundNic, type NicRole } from '../../src/config/index.js';

function role(name: string, fallback: number, ...match: string[]): NicRole {
  return { role: name, fallback, match: match.map(parseNicSelector) };
}

/** The QEMU lab board: e1000s at 00:03.0, 04.0, 05.0. */
const QEMU_BOARD = { nics: [role('WAN', 0, 'pci:0000:00:03.0'), role('LAN', 1, 'pci:0000:00:04.0'), role('SYNC', 2, 'pci:0000:00:05.0')] };

/** Like the SG-4860: three I354 ports, pinned by PCI address. */
const SG_BOARD = { nics: [role('WAN', 0, 'pci:0000:00:14.0'), role('LAN', 1, 'pci:0000:00:14.1'), role('SYNC', 2, 'pci:0000:00:14.2')] };

const nic = (ifname: string, pciPath: string | undefined, mac: string, driver = 'e1000'): FoundNic => ({ ifname, mac, driver, ...(pciPath === undefined ? {} : { pciPath }) });

describe('mapNics', () => {
  it('matches by PCI address, whatever the kernel named the interfaces', () => {
    const found = [nic('eth2', '0000:00:03.0', '52:54:00:00:00:01'), nic('eth0', '0000:00:05.0', '52:54:00:00:00:03'), nic('eth1', '0000:00:04.0', '52:54:00:00:00:02')];
    const result = mapNics(QEMU_BOARD, found);
    assert.equal(result.ok, true);
    assert.deepEqual(result.roles, { WAN: 'eth2', LAN: 'eth1', SYNC: 'eth0' });
    assert.deepEqual(result.assignments, [
      { role: 'WAN', ifname: 'eth2', rule: 'pci:0000:00:03.0' },
      { role: 'LAN', ifname: 'eth1', rule: 'pci:0000:00:04.0' },
      { role: 'SYNC', ifname: 'eth0', rule: 'pci:0000:00:05.0' },
    ]);
    assert.deepEqual(result.missing, []);
    assert.deepEqual(result.unassigned, []);
  });

  it('accepts udev and sysfs spellings of the PCI path', () => {
    const found = [nic('a', 'pci-0000:00:03.0', '52:54:00:00:00:01'), nic('b', '/sys/devices/pci0000:00/0000:00:04.0', '52:54:00:00:00:02'), nic('c', '0000:00:05.0', '52:54:00:00:00:03')];
    assert.deepEqual(mapNics(QEMU_BOARD, found).roles, { WAN: 'a', LAN: 'b', SYNC: 'c' });
  });

  it('matches by MAC address, case-insensitively, before later selectors', () => {
    const board = { nics: [role('WAN', 0, 'mac:00:08:A2:00:00:09', 'pci:0000:00:14.0'), role('LAN', 1), role('SYNC', 2)] };
    const found = [nic('igb0', '0000:00:14.0', '00:08:a2:00:00:01', 'igb'), nic('igb1', '0000:00:14.1', '00:08:a2:00:00:02', 'igb'), nic('igb5', '0000:02:00.0', '00:08:a2:00:00:09', 'igb'), nic('igb2', '0000:00:14.2', '00:08:a2:00:00:03', 'igb')];
    const result = mapNics(board, found);
    assert.equal(result.roles.WAN, 'igb5');
    assert.equal(result.assignments[0]?.rule, 'mac:00:08:a2:00:00:09');
  });

  it('falls back to PCI-address order when no selector matches (other machine type)', () => {
    // A q35 machine puts the NICs elsewhere; the kernel's names are not in slot order.
    const found = [nic('enp0s2', '0000:00:02.0', '52:54:00:00:00:01'), nic('enp0s4', '0000:00:04.0', '52:54:00:00:00:03'), nic('enp0s3', '0000:00:03.0', '52:54:00:00:00:02')];
    const board = { nics: [role('WAN', 0, 'pci:0000:01:00.0'), role('LAN', 1, 'pci:0000:02:00.0'), role('SYNC', 2, 'pci:0000:03:00.0')] };
    const result = mapNics(board, found);
    assert.equal(result.ok, true);
    assert.deepEqual(result.roles, { WAN: 'enp0s2', LAN: 'enp0s3', SYNC: 'enp0s4' });
    assert.deepEqual(result.assignments.map((a) => a.rule), ['fallback 0', 'fallback 1', 'fallback 2']);
  });

  it('counts fallback indexes among the NICs no selector claimed', () => {
    const board = { nics: [role('WAN', 2, 'pci:0000:00:14.0'), role('LAN', 0), role('SYNC', 1)] };
    const found = [nic('e0', '0000:00:14.0', '00:00:00:00:00:01'), nic('e1', '0000:00:14.1', '00:00:00:00:00:02'), nic('e2', '0000:00:14.2', '00:00:00:00:00:03')];
    assert.deepEqual(mapNics(board, found).roles, { WAN: 'e0', LAN: 'e1', SYNC: 'e2' });
  });

  it('puts NICs without a PCI path after those with one', () => {
    const board = { nics: [role('WAN', 0), role('LAN', 1), role('SYNC', 2)] };
    const found = [nic('usb0', undefined, '00:00:00:00:00:09'), nic('eth1', '0000:00:04.0', '00:00:00:00:00:02'), nic('eth0', '0000:00:03.0', '00:00:00:00:00:01')];
    const result = mapNics(board, found);
    assert.deepEqual(result.roles, { WAN: 'eth0', LAN: 'eth1', SYNC: 'usb0' });
  });

  it('takes the first free port of a driver for driver: selectors', () => {
    const board = { nics: [role('WAN', 0, 'driver:ixgbe'), role('LAN', 1, 'driver:ixgbe'), role('SYNC', 0, 'driver:igb')] };
    const found = [nic('x1', '0000:03:00.1', '00:00:00:00:00:12', 'ixgbe'), nic('x0', '0000:03:00.0', '00:00:00:00:00:11', 'ixgbe'), nic('i0', '0000:00:14.0', '00:00:00:00:00:01', 'igb')];
    const result = mapNics(board, found);
    assert.deepEqual(result.roles, { WAN: 'x0', LAN: 'x1', SYNC: 'i0' });
    assert.deepEqual(result.assignments.map((a) => a.rule), ['driver:ixgbe', 'driver:ixgbe', 'driver:igb']);
  });

  it('reports a missing NIC and lists what is left', () => {
    const found = [nic('eth0', '0000:00:03.0', '52:54:00:00:00:01'), nic('eth1', '0000:00:04.0', '52:54:00:00:00:02')];
    const result = mapNics(QEMU_BOARD, found);
    assert.equal(result.ok, false);
    assert.deepEqual(result.roles, { WAN: 'eth0', LAN: 'eth1' });
    assert.deepEqual(result.missing, ['SYNC']);
    assert.deepEqual(result.errors, ['SYNC: no selector matched and fallback 2 is past the 0 unclaimed NIC(s) (none)']);
  });

  it('reports a missing NIC when the fallback index is out of range', () => {
    const found = [nic('eth0', '0000:00:08.0', '52:54:00:00:00:01'), nic('eth1', '0000:00:09.0', '52:54:00:00:00:02')];
    const result = mapNics(QEMU_BOARD, found);
    assert.deepEqual(result.roles, { WAN: 'eth0', LAN: 'eth1' });
    assert.deepEqual(result.missing, ['SYNC']);
    assert.deepEqual(result.errors, ['SYNC: no selector matched and fallback 2 is past the 2 unclaimed NIC(s) (eth0, eth1)']);
  });

  it('reports two roles claiming one NIC instead of guessing', () => {
    const board = { nics: [role('WAN', 0, 'pci:0000:00:14.0'), role('LAN', 1, 'mac:00:08:a2:00:00:01'), role('SYNC', 2)] };
    const found = [nic('igb0', '0000:00:14.0', '00:08:a2:00:00:01', 'igb'), nic('igb1', '0000:00:14.1', '00:08:a2:00:00:02', 'igb'), nic('igb2', '0000:00:14.2', '00:08:a2:00:00:03', 'igb')];
    const result = mapNics(board, found);
    assert.equal(result.ok, false);
    assert.equal(result.errors[0], 'LAN: mac:00:08:a2:00:00:01 selects igb0, which WAN already holds');
    assert.equal(result.roles.WAN, 'igb0');
    assert.equal(result.roles.LAN, undefined); // a conflict never falls back to a guess
    assert.ok(result.missing.includes('LAN'));
    // SYNC's fallback 2 counts among the NICs no selector claimed: [igb1, igb2].
    assert.equal(result.errors[1], 'SYNC: no selector matched and fallback 2 is past the 2 unclaimed NIC(s) (igb1, igb2)');
  });

  it('reports two roles with the same fallback', () => {
    const board = { nics: [role('WAN', 0), role('LAN', 0), role('SYNC', 1)] };
    const found = [nic('e0', '0000:00:03.0', '00:00:00:00:00:01'), nic('e1', '0000:00:04.0', '00:00:00:00:00:02')];
    const result = mapNics(board, found);
    assert.deepEqual(result.errors, ['LAN: fallback 0 is e0, which WAN already holds']);
    assert.deepEqual(result.roles, { WAN: 'e0', SYNC: 'e1' });
  });

  it('leaves extra ports unassigned', () => {
    const found = ['0', '1', '2', '3'].map((i) => nic(`igb${i}`, `0000:00:14.${i}`, `00:08:a2:00:00:0${i}`, 'igb'));
    const result = mapNics(SG_BOARD, found);
    assert.equal(result.ok, true);
    assert.deepEqual(result.roles, { WAN: 'igb0', LAN: 'igb1', SYNC: 'igb2' });
    assert.deepEqual(result.unassigned, ['igb3']);
  });

  it('is pure: the same input gives the same answer and the input is not changed', () => {
    const found = [nic('b', '0000:00:04.0', '52:54:00:00:00:02'), nic('a', '0000:00:03.0', '52:54:00:00:00:01'), nic('c', '0000:00:05.0', '52:54:00:00:00:03')];
    const copy = structuredClone(found);
    assert.deepEqual(mapNics(QEMU_BOARD, found), mapNics(QEMU_BOARD, copy));
    assert.deepEqual(found, copy);
  });
});
