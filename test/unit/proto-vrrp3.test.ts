import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Vrrp3ChecksumMode, decodeVrrp3, encodeVrrp3, internetChecksum, parseIpPacket, pseudoHeader,
  parseIp, vrrp3MasterDownMs, vrrp3SkewMs,
} from '../../src/agent/proto/index.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Captured on this machine from Debian's keepalived 2.2.7 (vrrp_version 3) in
// throwaway network namespaces, read back with `tcpdump -xx`.
const KA = {
  // vrid 49, prio 200, advert_int 0.1 (10 cs), VIPs 192.0.2.1 and 192.0.2.10, multicast.
  v4: { src: '192.0.2.2', dst: '224.0.0.18', bytes: hex('3131 c802 000a e01f c000 0201 c000 020a') },
  // The same instance stopping: priority 0.
  v4resign: { src: '192.0.2.2', dst: '224.0.0.18', bytes: hex('3131 0002 000a a820 c000 0201 c000 020a') },
  // vrid 50, prio 150, advert_int 1, native_ipv6, VIP 2001:db8::1, from the link-local address.
  v6: { src: 'fe80::842d:27ff:feca:89b3', dst: 'ff02::12', bytes: hex('3132 9601 0064 d7e4 2001 0db8 0000 0000 0000 0000 0000 0001') },
  v6resign: { src: 'fe80::842d:27ff:feca:89b3', dst: 'ff02::12', bytes: hex('3132 0001 0064 6de5 2001 0db8 0000 0000 0000 0000 0000 0001') },
  // vrid 51, prio 100, unicast_src_ip 192.0.2.2, unicast_peer 192.0.2.3, VIP 192.0.2.20.
  unicast: { src: '192.0.2.2', dst: '192.0.2.3', bytes: hex('3133 6401 0064 23d0 c000 0214') },
};
// The whole IPv4 datagram of the first one (Ethernet header stripped).
const KA_V4_IP = hex('45c0 0024 0001 0000 ff70 1894 c000 0202 e000 0012 3131 c802 000a e01f c000 0201 c000 020a');

describe('VRRPv3 codec: golden vectors captured from keepalived', () => {
  it('IPv4 multicast: decodes, checksum includes the IPv4 pseudo-header', () => {
    const r = decodeVrrp3(KA.v4.bytes, { src: KA.v4.src, dst: KA.v4.dst, ttl: 255, vrid: 49 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(
      [r.advert.vrid, r.advert.priority, r.advert.count, r.advert.maxAdverInt, r.advert.family, r.advert.checksumMode],
      [49, 200, 2, 10, 4, 'pseudo']);
    assert.deepEqual(r.advert.addresses, ['192.0.2.1', '192.0.2.10']);
    // Without the pseudo-header the same bytes do not sum to zero.
    assert.notEqual(internetChecksum(KA.v4.bytes), 0);
    const ph = pseudoHeader(parseIp(KA.v4.src)!, parseIp(KA.v4.dst)!, 112, KA.v4.bytes.length);
    assert.equal(internetChecksum(ph, KA.v4.bytes), 0);
  });

  it('encodes the same bytes keepalived sent (v4, v4 resign, v6, v6 resign, unicast)', () => {
    const cases: Array<[keyof typeof KA, number, number, number, string[]]> = [
      ['v4', 49, 200, 10, ['192.0.2.1', '192.0.2.10']],
      ['v4resign', 49, 0, 10, ['192.0.2.1', '192.0.2.10']],
      ['v6', 50, 150, 100, ['2001:db8::1']],
      ['v6resign', 50, 0, 100, ['2001:db8::1']],
      ['unicast', 51, 100, 100, ['192.0.2.20']],
    ];
    for (const [name, vrid, priority, maxAdverInt, addresses] of cases) {
      const { src, dst, bytes } = KA[name];
      assert.equal(toHex(encodeVrrp3({ vrid, priority, maxAdverInt, addresses, src, dst })), toHex(bytes), name);
      const r = decodeVrrp3(bytes, { src, dst, ttl: 255, vrid, expectedAddresses: addresses });
      assert.ok(r.ok && r.advert.priority === priority && r.advert.checksumMode === 'pseudo', name);
    }
  });

  it('IPv6: pseudo-header with the link-local source and ff02::12', () => {
    const r = decodeVrrp3(KA.v6.bytes, { src: KA.v6.src, dst: KA.v6.dst, ttl: 255, vrid: 50, checksumModes: ['pseudo'] });
    assert.ok(r.ok && r.advert.family === 6 && r.advert.maxAdverInt === 100);
    const other = decodeVrrp3(KA.v6.bytes, { src: 'fe80::1', dst: KA.v6.dst, checksumModes: ['pseudo'] });
    assert.ok(!other.ok && other.reason === 'badChecksum');
  });

  it('unicast: keepalived >= 1.3.6 puts the real destination in the pseudo-header', () => {
    const { src, dst, bytes } = KA.unicast;
    const only = (m: Vrrp3ChecksumMode) => decodeVrrp3(bytes, { src, dst, checksumModes: [m] }).ok;
    assert.deepEqual([only('pseudo'), only('mcast'), only('none')], [true, false, false]);
  });

  it('parses the captured IPv4 datagram into header fields and payload', () => {
    const ip = parseIpPacket(KA_V4_IP)!;
    assert.deepEqual([ip.family, ip.src, ip.dst, ip.ttl, ip.protocol], [4, '192.0.2.2', '224.0.0.18', 255, 112]);
    assert.equal(toHex(ip.payload), toHex(KA.v4.bytes));
  });
});

describe('VRRPv3 codec: checksum variants', () => {
  const base = { vrid: 7, priority: 100, maxAdverInt: 100, addresses: ['192.0.2.20'], src: '192.0.2.2', dst: '192.0.2.3' };

  it('each mode round-trips and is reported; a strict receiver refuses the others', () => {
    for (const mode of ['pseudo', 'mcast', 'none'] as const) {
      const p = encodeVrrp3({ ...base, checksumMode: mode });
      const r = decodeVrrp3(p, { src: base.src, dst: base.dst, ttl: 255 });
      assert.ok(r.ok && r.advert.checksumMode === mode, mode);
      const strict = decodeVrrp3(p, { src: base.src, dst: base.dst, checksumModes: ['pseudo'] });
      assert.equal(strict.ok, mode === 'pseudo', mode);
    }
  });

  it('none = VRRPv2 style: the plain Internet checksum of the message', () => {
    assert.equal(internetChecksum(encodeVrrp3({ ...base, checksumMode: 'none' })), 0);
  });
});

describe('VRRPv3 codec: drops', () => {
  const src = '192.0.2.2', dst = '224.0.0.18';
  const good = encodeVrrp3({ vrid: 49, priority: 100, maxAdverInt: 100, addresses: ['192.0.2.1'], src, dst });
  const refix = (p: Uint8Array) => {
    p[6] = 0; p[7] = 0;
    const s = internetChecksum(pseudoHeader(parseIp(src)!, parseIp(dst)!, 112, p.length), p);
    p[6] = s >> 8; p[7] = s & 0xff;
    return p;
  };
  const reason = (p: Uint8Array, ctx: Partial<Parameters<typeof decodeVrrp3>[1]> = {}) => {
    const r = decodeVrrp3(p, { src, dst, ttl: 255, vrid: 49, expectedAddresses: ['192.0.2.1'], ...ctx });
    return r.ok ? 'ok' : r.reason;
  };
  const mut = (f: (p: Uint8Array) => void) => { const p = good.slice(); f(p); return refix(p); };

  it('names one reason per fault', () => {
    assert.equal(reason(good), 'ok');
    assert.equal(reason(good, { ttl: 1 }), 'badTtl');
    assert.equal(reason(good.subarray(0, 7)), 'badLength');
    assert.equal(reason(mut((p) => { p[0] = 0x21; })), 'badVersion');
    assert.equal(reason(mut((p) => { p[0] = 0x32; })), 'badType');
    assert.equal(reason(good, { vrid: 50 }), 'badVrid');
    const flipped = good.slice(); flipped[9] = flipped[9]! ^ 0x80;
    assert.equal(reason(flipped), 'badChecksum');
    assert.equal(reason(mut((p) => { p[3] = 2; })), 'badAddrCount');
    assert.equal(reason(mut((p) => { p[3] = 0; })), 'badAddrCount');
    assert.equal(reason(mut((p) => { p[4] = 0xf0; p[5] = 0; })), 'badInterval');
    assert.equal(reason(good, { expectedAddresses: ['192.0.2.99'] }), 'badAddrList');
    assert.equal(reason(good, { src: 'not-an-ip' }), 'badAddress');
    assert.equal(reason(good, { dst: 'ff02::12' }), 'badAddress');
  });

  it('ignores the reserved bits on receipt', () => {
    assert.equal(reason(mut((p) => { p[4] = (p[4]! | 0xf0); })), 'ok');
  });

  it('refuses to encode addresses of the wrong family', () => {
    assert.throws(() => encodeVrrp3({ vrid: 1, priority: 1, maxAdverInt: 1, addresses: ['2001:db8::1'], src, dst }), RangeError);
  });
});

describe('VRRPv3 timers (RFC 5798 6.1)', () => {
  it('Skew_Time and Master_Down_Interval', () => {
    assert.equal(vrrp3SkewMs(100, 100), (156 * 1000) / 256);
    assert.equal(vrrp3MasterDownMs(100, 100), 3000 + (156 * 1000) / 256);
    assert.equal(vrrp3MasterDownMs(254, 1), 30 + (2 * 10) / 256);
  });
});
