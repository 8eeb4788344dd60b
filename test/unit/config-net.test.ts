import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NetError,
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  formatCidr,
  formatIP,
  formatIPv6,
  isReservedHostAddress,
  lastAddressOf,
  netmaskOf,
  networkOf,
  parseAddressOrCidr,
  parseCidr,
  parseIP,
  parseIPv4,
  parseIPv6,
  sameSubnet,
  tryParseCidr,
  tryParseIP,
} from '../../src/config/net.js';

const ip = (text: string) => parseIP(text);
const cidr = (text: string) => parseCidr(text);

describe('net: IPv4', () => {
  it('parses and formats dotted quads', () => {
    assert.equal(parseIPv4('203.0.113.2').value, 0xcb007102n);
    assert.equal(formatIP(ip('0.0.0.0')), '0.0.0.0');
    assert.equal(formatIP(ip('255.255.255.255')), '255.255.255.255');
  });

  it('refuses malformed addresses', () => {
    for (const bad of ['203.0.113', '203.0.113.256', '203.0.113.2.1', '203.0.113.02', '1.2.3.-4', 'a.b.c.d', '', '1..2.3']) {
      assert.throws(() => parseIPv4(bad), NetError, bad);
      assert.equal(tryParseIP(bad), undefined, bad);
    }
  });
});

describe('net: IPv6', () => {
  it('parses full, compressed and IPv4-tailed forms', () => {
    assert.equal(parseIPv6('2001:db8:0:0:0:0:0:1').value, parseIPv6('2001:db8::1').value);
    assert.equal(parseIPv6('::').value, 0n);
    assert.equal(parseIPv6('::1').value, 1n);
    assert.equal(parseIPv6('fe80::').value, 0xfe80n << 112n);
    assert.equal(parseIPv6('::ffff:192.0.2.1').value, (0xffffn << 32n) | 0xc0000201n);
    assert.equal(parseIPv6('2001:DB8::A').value, parseIPv6('2001:db8::a').value);
  });

  it('formats canonically (RFC 5952)', () => {
    const canon = (t: string) => formatIPv6(parseIPv6(t).value);
    assert.equal(canon('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canon('2001:db8:0:1:0:0:0:2'), '2001:db8:0:1::2'); // a single zero group is not compressed
    assert.equal(canon('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longest run wins
    assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // the first of equal runs wins
    assert.equal(canon('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canon('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canon('1:0:0:0:0:0:0:0'), '1::');
    assert.equal(canon('2001:DB8:A:B:C:D:E:F'), '2001:db8:a:b:c:d:e:f');
    assert.equal(canon('::ffff:c000:0201'), '::ffff:192.0.2.1');
  });

  it('refuses malformed addresses', () => {
    for (const bad of ['2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', '2001:db8:1:2:3:4:5', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '12345::1', 'g::1', '::1.2.3', '1.2.3.4::', 'fe80::1%eth0', ':::']) {
      assert.throws(() => parseIPv6(bad), NetError, bad);
    }
  });
});

describe('net: prefixes', () => {
  it('parses address/prefix and keeps the host bits', () => {
    const c = cidr('203.0.113.2/24');
    assert.deepEqual(c, { family: 4, value: 0xcb007102n, prefix: 24 });
    assert.equal(formatCidr(c), '203.0.113.2/24');
    assert.equal(formatCidr(cidr('2001:DB8:0:1::2/64')), '2001:db8:0:1::2/64');
  });

  it('refuses missing and out-of-range prefixes with the allowed range', () => {
    assert.throws(() => parseCidr('203.0.113.2'), /has no prefix length/);
    assert.throws(() => parseCidr('203.0.113.2/33'), (e: NetError) => e.allowed === '0-32 for IPv4');
    assert.throws(() => parseCidr('2001:db8::1/129'), (e: NetError) => e.allowed === '0-128 for IPv6');
    assert.throws(() => parseCidr('203.0.113.2/024'), NetError);
    assert.throws(() => parseCidr('203.0.113.2/'), NetError);
    assert.equal(tryParseCidr('2001:db8::1/abc'), undefined);
  });

  it('treats a bare address as a host prefix where allowed', () => {
    assert.equal(parseAddressOrCidr('192.0.2.7').prefix, 32);
    assert.equal(parseAddressOrCidr('2001:db8::7').prefix, 128);
  });

  it('computes network, last address and netmask', () => {
    assert.equal(formatCidr(networkOf(cidr('203.0.113.77/24'))), '203.0.113.0/24');
    assert.equal(formatCidr(networkOf(cidr('172.16.1.2/30'))), '172.16.1.0/30');
    assert.equal(formatCidr(networkOf(cidr('2001:db8:0:2::abcd/64'))), '2001:db8:0:2::/64');
    assert.equal(formatCidr(networkOf(cidr('2001:db8:1234::1/20'))), '2001::/20');
    assert.equal(formatIP(lastAddressOf(cidr('192.168.1.2/24'))), '192.168.1.255');
    assert.equal(formatCidr(networkOf(cidr('10.1.2.3/0'))), '0.0.0.0/0');
    assert.equal(netmaskOf(24), '255.255.255.0');
    assert.equal(netmaskOf(30), '255.255.255.252');
    assert.equal(netmaskOf(0), '0.0.0.0');
  });

  it('tests containment for both families and never across families', () => {
    assert.equal(cidrContains(cidr('203.0.113.2/24'), ip('203.0.113.10')), true);
    assert.equal(cidrContains(cidr('203.0.113.2/24'), ip('203.0.114.10')), false);
    assert.equal(cidrContains(cidr('172.16.1.1/30'), ip('172.16.1.3')), true);
    assert.equal(cidrContains(cidr('172.16.1.1/30'), ip('172.16.1.4')), false);
    assert.equal(cidrContains(cidr('2001:db8:0:2::2/64'), ip('2001:db8:0:2:ffff::1')), true);
    assert.equal(cidrContains(cidr('2001:db8:0:2::2/64'), ip('2001:db8:0:3::1')), false);
    assert.equal(cidrContains(cidr('0.0.0.0/0'), ip('198.51.100.1')), true);
    assert.equal(cidrContains(cidr('::/0'), ip('198.51.100.1')), false);
    assert.equal(cidrContains(cidr('0.0.0.0/0'), ip('::ffff:198.51.100.1')), false);
  });

  it('compares prefixes', () => {
    assert.equal(cidrContainsCidr(cidr('192.168.0.0/16'), cidr('192.168.1.0/24')), true);
    assert.equal(cidrContainsCidr(cidr('192.168.1.0/24'), cidr('192.168.0.0/16')), false);
    assert.equal(cidrsOverlap(cidr('192.168.1.0/24'), cidr('192.168.0.0/16')), true);
    assert.equal(cidrsOverlap(cidr('192.168.1.0/24'), cidr('192.168.2.0/24')), false);
    assert.equal(sameSubnet(cidr('172.16.1.1/30'), cidr('172.16.1.2/30')), true);
    assert.equal(sameSubnet(cidr('172.16.1.1/30'), cidr('172.16.1.2/29')), false);
    assert.equal(sameSubnet(cidr('172.16.1.1/30'), cidr('172.16.1.5/30')), false);
  });

  it('knows the addresses a host cannot have', () => {
    assert.equal(isReservedHostAddress(cidr('192.168.1.0/24')), true);
    assert.equal(isReservedHostAddress(cidr('192.168.1.255/24')), true);
    assert.equal(isReservedHostAddress(cidr('192.168.1.1/24')), false);
    assert.equal(isReservedHostAddress(cidr('10.0.0.0/31')), false);
    assert.equal(isReservedHostAddress(cidr('10.0.0.1/32')), false);
    assert.equal(isReservedHostAddress(cidr('2001:db8::/64')), true);
    assert.equal(isReservedHostAddress(cidr('2001:db8::1/64')), false);
    assert.equal(isReservedHostAddress(cidr('2001:db8::/127')), false);
  });
});
