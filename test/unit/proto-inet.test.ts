import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareIp, familyOf, formatIp, internetChecksum, normalizeIp, parseIp, peekVhid, virtualMac,
} from '../../src/agent/proto/index.js';

describe('inet helpers', () => {
  it('parses and formats IPv4 and IPv6 text', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.1', '192.0.2.1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['fe80::842d:27ff:feca:89b3%v0', 'fe80::842d:27ff:feca:89b3'],
      ['::', '::'],
      ['::1', '::1'],
      ['ff02::12', 'ff02::12'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, want] of cases) assert.equal(normalizeIp(input), want, input);
    for (const bad of ['', '1.2.3', '1.2.3.256', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::g', ':::']) {
      assert.equal(parseIp(bad), null, bad);
    }
    assert.equal(familyOf('198.51.100.1'), 4);
    assert.equal(familyOf('2001:db8::1'), 6);
    assert.equal(formatIp(new Uint8Array(3)), '');
  });

  it('orders addresses numerically', () => {
    assert.ok(compareIp('192.0.2.9', '192.0.2.10') < 0);
    assert.ok(compareIp('10.0.1.1', '10.0.0.2') > 0);
    assert.ok(compareIp('255.255.255.255', '::') < 0);
  });

  it('Internet checksum: RFC 1071 example', () => {
    // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2.
    assert.equal(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), ~0xddf2 & 0xffff);
    assert.equal(internetChecksum(Uint8Array.from([0x01]), Uint8Array.from([0x02])), ~0x0102 & 0xffff);
  });

  it('virtual MACs and VHID peeking', () => {
    assert.equal(virtualMac(49, { protocol: 'carp', family: 4 }), '00:00:5e:00:01:31');
    assert.equal(virtualMac(49, { protocol: 'carp', family: 6 }), '00:00:5e:00:01:31');
    assert.equal(virtualMac(7, { protocol: 'vrrp3', family: 6 }), '00:00:5e:00:02:07');
    assert.equal(peekVhid(Uint8Array.from([0x21, 49])), 49);
    assert.equal(peekVhid(Uint8Array.from([0x21])), null);
  });
});
