/**
 * Unit tests of the raw-socket addon that need no network: building and
 * loading, argument and errno errors, and the pure frame builders (gratuitous
 * ARP, unsolicited NA). The traffic tests live in test/rig/native-raw.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildAddon, defaultOutDir } from '../../src/native/build.js';
import {
  buildGratuitousArp,
  buildUnsolicitedNA,
  formatMac,
  internetChecksum,
  loadAddon,
  parseIPv4,
  parseIPv6,
  parseMac,
  RawSocket,
  type RawAddon,
} from '../../src/native/raw.js';

const root = typeof process.getuid === 'function' && process.getuid() === 0;

describe('frame builders', () => {
  test('internet checksum (RFC 1071 example)', () => {
    assert.equal(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
    // odd length, split across chunks
    assert.equal(internetChecksum(Buffer.from([0x00, 0x01, 0xf2]), Buffer.from([0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
    assert.equal(internetChecksum(Buffer.from([0xab])), ~0xab00 & 0xffff);
  });

  test('address parsing', () => {
    assert.equal(parseIPv6('::').toString('hex'), '0'.repeat(32));
    assert.equal(parseIPv6('ff02::12').toString('hex'), 'ff020000000000000000000000000012');
    assert.equal(parseIPv6('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
    assert.equal(parseIPv6('fe80::1%LAN').toString('hex'), 'fe800000000000000000000000000001');
    assert.equal(parseIPv6('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
    assert.equal(parseIPv6('1::').toString('hex'), '00010000000000000000000000000000');
    assert.equal(parseIPv6('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
    assert.equal(parseIPv4('224.0.0.18').toString('hex'), 'e0000012');
    assert.throws(() => parseIPv6('1::2::3'), TypeError);
    assert.throws(() => parseIPv4('256.0.0.1'), TypeError);
    assert.equal(formatMac(parseMac('00:00:5E:00:01:31')), '00:00:5e:00:01:31');
    assert.throws(() => parseMac('00:00:5e:00:01'), /not a MAC/);
  });

  test('gratuitous ARP: broadcast request with sender IP == target IP', () => {
    const f = buildGratuitousArp('00:00:5e:00:01:31', '192.168.1.1');
    assert.equal(f.length, 60);
    assert.equal(f.subarray(0, 14).toString('hex'), 'ffffffffffff' + '00005e000131' + '0806');
    assert.equal(
      f.subarray(14, 42).toString('hex'),
      '0001' + '0800' + '06' + '04' + '0001' + '00005e000131' + 'c0a80101' + '000000000000' + 'c0a80101',
    );
    const reply = buildGratuitousArp('00:00:5e:00:01:31', '192.168.1.1', 'reply');
    assert.equal(reply.readUInt16BE(20), 2);
    assert.equal(reply.subarray(32, 38).toString('hex'), '00005e000131', 'reply: tha == sha');
  });

  test('unsolicited NA: headers, flags, option and a valid ICMPv6 checksum', () => {
    const f = buildUnsolicitedNA('00:00:5e:00:02:31', '2001:db8::1', { router: true });
    assert.equal(f.length, 14 + 40 + 32);
    assert.equal(f.subarray(0, 14).toString('hex'), '333300000001' + '00005e000231' + '86dd');
    assert.equal(f[14]! >> 4, 6);
    assert.equal(f.readUInt16BE(18), 32, 'payload length');
    assert.equal(f[20], 58, 'next header ICMPv6');
    assert.equal(f[21], 255, 'hop limit');
    assert.equal(f.subarray(22, 38).toString('hex'), parseIPv6('2001:db8::1').toString('hex'), 'source = target');
    assert.equal(f.subarray(38, 54).toString('hex'), parseIPv6('ff02::1').toString('hex'));
    const icmp = f.subarray(54);
    assert.equal(icmp[0], 136);
    assert.equal(icmp[4], 0xa0, 'router + override, not solicited');
    assert.equal(icmp.subarray(24, 32).toString('hex'), '0201' + '00005e000231');
    const pseudo = Buffer.concat([f.subarray(22, 54), Buffer.from([0, 0, 0, 32, 0, 0, 0, 58])]);
    assert.equal(internetChecksum(pseudo, icmp), 0, 'checksum verifies');
    const host = buildUnsolicitedNA('00:00:5e:00:02:31', '2001:db8::1', { source: 'fe80::1' });
    assert.equal(host[54 + 4], 0x20, 'override only');
  });
});

describe('addon loading', () => {
  test('a missing addon file gives a clear error', () => {
    assert.throws(() => loadAddon('/nonexistent/raw.node'), /cannot load the raw-socket addon from \/nonexistent\/raw.node.*CARPD_ADDON/s);
  });

  test('a missing compiler names the Debian package', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carp-native-'));
    try {
      await assert.rejects(buildAddon(dir, { cc: 'no-such-cc-carpenter' }), /install the Debian package gcc/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('addon arguments and errors', () => {
  let addon: RawAddon | undefined;
  let path = '';
  let skipReason: string | undefined;

  before(async () => {
    try {
      path = await buildAddon(defaultOutDir());
      addon = loadAddon(path);
    } catch (e) {
      skipReason = `addon not built: ${(e as Error).message}`;
    }
  });

  const a = (): RawAddon => {
    if (!addon) throw new Error(skipReason);
    return addon;
  };

  test('buildAddon is cached by source hash', async () => {
    if (!addon) return;
    const before = statSync(path).mtimeMs;
    assert.equal(await buildAddon(defaultOutDir()), path);
    assert.equal(statSync(path).mtimeMs, before);
    assert.equal(loadAddon(path), addon, 'loadAddon caches per path');
  });

  test('bad arguments throw TypeError', () => {
    if (!addon) return;
    assert.throws(() => a().socket(5 as 4, 112), { name: 'TypeError', message: /family must be 4 or 6/ });
    assert.throws(() => a().socket(4, 300), { name: 'TypeError', message: /protocol/ });
    assert.throws(() => (a().socket as unknown as (x: string) => number)('4'), { name: 'TypeError', message: /expected at least 2 arguments/ });
    assert.throws(() => a().recv('x' as unknown as number, 4), { name: 'TypeError', message: /fd must be a number/ });
    assert.throws(() => a().recv(1.5, 4), { name: 'TypeError', message: /32-bit integer/ });
    assert.throws(() => a().sendTo(0, 4, Buffer.alloc(1), 'not-an-ip'), { name: 'TypeError', message: /IPv4 address/ });
    assert.throws(() => a().sendTo(0, 4, 'str' as unknown as Buffer, '1.2.3.4'), { name: 'TypeError', message: /Buffer/ });
    assert.throws(() => a().bindToDevice(0, 'x'.repeat(40)), { name: 'TypeError', message: /too long/ });
    assert.throws(() => a().unwatch({} as never), { name: 'TypeError', message: /watch\(\) handle/ });
    assert.throws(() => a().watch(0, 'nope' as never), { name: 'TypeError', message: /callback must be a function/ });
    assert.throws(() => a().sendFrame(1, Buffer.alloc(4)), { name: 'TypeError', message: /shorter than an Ethernet header/ });
  });

  test('system call failures carry errno, code and syscall', () => {
    if (!addon) return;
    assert.throws(() => a().ifIndex('nonexistent0'), (e: Error & { code?: string; errno?: number; syscall?: string }) => {
      assert.equal(e.code, 'ENODEV');
      assert.equal(e.errno, 19);
      assert.equal(e.syscall, 'if_nametoindex');
      assert.match(e.message, /if_nametoindex: No such device/);
      return true;
    });
    assert.throws(() => a().close(987654), { code: 'EBADF', syscall: 'close' });
  });

  test('RawSocket.open validates, and fails cleanly without privileges or interface', () => {
    if (!addon) return;
    assert.throws(() => RawSocket.open({ family: 5 as 4, protocol: 112, addon: a() }), TypeError);
    assert.throws(() => RawSocket.open({ family: 4, protocol: 0, addon: a() }), TypeError);
    assert.throws(() => RawSocket.open({ family: 4, protocol: 112, interface: 'nonexistent0', addon: a() }), { code: 'ENODEV' });
    if (!root) {
      assert.throws(() => RawSocket.open({ family: 4, protocol: 112, addon: a() }), { code: 'EPERM', syscall: 'socket' });
    }
  });

  test('RawSocket lifecycle without traffic (root)', { skip: root ? false : 'raw sockets need root (CAP_NET_RAW)' }, async () => {
    if (!addon) return;
    const s = RawSocket.open({ family: 6, protocol: 112, addon: a() });
    assert.ok(s.fd >= 0);
    assert.equal(s.receiveNow(), null, 'nothing queued, does not block');
    assert.throws(() => s.send(Buffer.alloc(1), '224.0.0.18'), { name: 'TypeError', message: /IPv6 address/ });
    assert.throws(() => s.join('not-a-group'), TypeError);
    s.unref().ref();
    s.pause();
    s.resume();
    const it = s.packets();
    const pending = it.next();
    let closed = 0;
    s.on('close', () => closed++);
    s.close();
    s.close();
    assert.equal(closed, 1);
    assert.deepEqual(await pending, { value: undefined, done: true }, 'iterator ends on close');
    assert.throws(() => s.send(Buffer.alloc(1), 'ff02::12'), { code: 'EBADF' });
    assert.throws(() => s.receiveNow(), { code: 'EBADF' });
    // an open, watched, unref'd socket does not keep the process alive
    RawSocket.open({ family: 4, protocol: 112, addon: a() }).unref();
  });

});
