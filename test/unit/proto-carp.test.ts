import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CARP_HEADER_LEN, buildIpv4Packet, buildIpv6Packet, carpHmac, carpHmacAddresses, carpIntervalMs,
  carpKeyBytes, decodeCarp, encodeCarp, formatIp, internetChecksum, parseIp, parseIpPacket,
} from '../../src/agent/proto/index.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Captured on this machine from Debian's ucarp 1.5.2 in a throwaway network
// namespace: `ucarp -i v0 -s 192.0.2.2 -v 49 -p change-me -a 192.0.2.1 -b 1 -k 0`,
// read back with `tcpdump -xx`. IPv4 header (20 bytes) then the CARP header.
const UCARP_IP = hex(`
  4510 0038 3202 4000 ff70 a72e c000 0202 e000 0012
  2131 0007 0001 66e6 03a6 2a68 a417 2473
  df08 3e9e e4e1 cb1a d889 60f4 26a2 4ac7 82bf 85fc`);
const UCARP = UCARP_IP.subarray(20);
const UCARP_KEY = { password: 'change-me', addresses: ['192.0.2.1'] };

/** carp(4)'s construction spelled out: SHA1((key ^ opad) . SHA1((key ^ ipad) . msg)). */
function handHmac(password: string, msg: Uint8Array): Uint8Array {
  const pad = new Uint8Array(64);
  pad.set(Buffer.from(password).subarray(0, 19));
  const ipad = pad.map((b) => b ^ 0x36), opad = pad.map((b) => b ^ 0x5c);
  const inner = createHash('sha1').update(ipad).update(msg).digest();
  return new Uint8Array(createHash('sha1').update(opad).update(inner).digest());
}

/** RFC 1071 by the book, independent of inet.ts. */
function handChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

describe('CARP codec: golden vector captured from ucarp', () => {
  it('decodes with the right password and VIP, fields as sent', () => {
    const r = decodeCarp(UCARP, { ttl: 255, vhid: 49, key: UCARP_KEY });
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.advert.vhid, 49);
    assert.equal(r.advert.advbase, 1);
    assert.equal(r.advert.advskew, 0);
    assert.equal(r.advert.demote, 0); // ucarp: carp_pad1 "must be zero"
    assert.equal(r.advert.authlen, 7);
    assert.equal(r.advert.checksum, 0x66e6);
    assert.equal(r.advert.counter, 0x03a62a68a4172473n);
  });

  it('encodes the same 36 bytes from the same inputs', () => {
    const p = encodeCarp({ ...UCARP_KEY, vhid: 49, advbase: 1, advskew: 0, counter: 0x03a62a68a4172473n });
    assert.equal(toHex(p), toHex(UCARP));
  });

  it('HMAC is version, type, vhid, vaddr, counter under the password (ucarp hashes only vaddr)', () => {
    const msg = Uint8Array.from([2, 1, 49, 192, 0, 2, 1, ...UCARP.subarray(8, 16)]);
    assert.equal(toHex(handHmac('change-me', msg)), toHex(UCARP.subarray(16, 36)));
    assert.equal(toHex(carpHmac(UCARP_KEY, 49, UCARP.subarray(8, 16))), toHex(UCARP.subarray(16, 36)));
  });

  it('checksum is RFC 1071 over the CARP header alone', () => {
    const z = UCARP.slice();
    z[6] = 0; z[7] = 0;
    assert.equal(handChecksum(z), 0x66e6);
    assert.equal(internetChecksum(UCARP), 0);
  });

  it('builds the IPv4 header ucarp sent (TTL 255, proto 112, DF, to 224.0.0.18)', () => {
    const ip = buildIpv4Packet(UCARP, { src: '192.0.2.2', dst: '224.0.0.18', tos: 0x10, id: 0x3202 });
    assert.equal(toHex(ip), toHex(UCARP_IP));
    const back = parseIpPacket(ip);
    assert.deepEqual(back && { ...back, payload: toHex(back.payload) },
      { family: 4, src: '192.0.2.2', dst: '224.0.0.18', ttl: 255, protocol: 112, payload: toHex(UCARP) });
  });

  it('drops the capture under each reason when one thing is wrong', () => {
    const reason = (p: Uint8Array, ctx = {}) => {
      const r = decodeCarp(p, { ttl: 255, vhid: 49, key: UCARP_KEY, ...ctx });
      return r.ok ? 'ok' : r.reason;
    };
    const fixSum = (p: Uint8Array) => {
      p[6] = 0; p[7] = 0;
      const s = internetChecksum(p.subarray(0, CARP_HEADER_LEN));
      p[6] = s >> 8; p[7] = s & 0xff;
      return p;
    };
    const mut = (i: number, v: number) => { const p = UCARP.slice(); p[i] = v; return fixSum(p); };
    assert.equal(reason(UCARP), 'ok');
    assert.equal(reason(UCARP, { ttl: 64 }), 'badTtl');
    assert.equal(reason(UCARP.subarray(0, 35)), 'badLength');
    assert.equal(reason(new Uint8Array(0)), 'badLength');
    assert.equal(reason(mut(0, 0x31)), 'badVersion');
    const flipped = UCARP.slice(); flipped[20] = flipped[20]! ^ 1;
    assert.equal(reason(flipped), 'badChecksum');
    assert.equal(reason(mut(0, 0x22)), 'badType');
    assert.equal(reason(UCARP, { vhid: 50 }), 'badVhid');
    assert.equal(reason(mut(3, 6)), 'badAuthLen');
    assert.equal(reason(UCARP, { key: { ...UCARP_KEY, password: 'wrong' } }), 'badHmac');
    assert.equal(reason(UCARP, { key: { ...UCARP_KEY, addresses: ['192.0.2.9'] } }), 'badHmac');
    // No key: HMAC not checked; no ttl: TTL not checked (unicast, as FreeBSD).
    assert.equal(reason(UCARP, { key: undefined, ttl: undefined }), 'ok');
    const r = decodeCarp(mut(0, 0x31), { vhid: 49 });
    assert.ok(!r.ok && r.vhid === 49, 'drops carry the VHID for conflict reports');
  });
});

describe('CARP codec: HMAC over a VIP group, as carp(4) builds it', () => {
  const group = ['2001:db8::1', '198.51.100.7', '192.0.2.1', 'fe80::1', '192.0.2.1', '2001:db8::1:0'];

  it('covers IPv4 ascending, then IPv6 ascending, each address once', () => {
    assert.deepEqual(carpHmacAddresses(group).map(formatIp),
      ['192.0.2.1', '198.51.100.7', 'fe80::1', '2001:db8::1', '2001:db8::1:0'].sort((a, b) => {
        const x = parseIp(a)!, y = parseIp(b)!;
        return x.length - y.length || Buffer.compare(x, y);
      }));
  });

  it('matches a hand-built HMAC and does not depend on the order the VIPs are listed', () => {
    const counter = hex('0123456789abcdef');
    const msg = Uint8Array.from([
      2, 1, 7,
      192, 0, 2, 1, 198, 51, 100, 7,
      ...parseIp('2001:db8::1')!, ...parseIp('2001:db8::1:0')!, ...parseIp('fe80::1')!,
      ...counter,
    ]);
    const want = toHex(handHmac('s3cret', msg));
    assert.equal(toHex(carpHmac({ password: 's3cret', addresses: group }, 7, counter)), want);
    assert.equal(toHex(carpHmac({ password: 's3cret', addresses: [...group].reverse() }, 7, counter)), want);
  });

  it('keys with at most 19 password bytes (strlcpy into the 20-byte sc_key)', () => {
    assert.equal(carpKeyBytes('x'.repeat(30)).filter((b) => b !== 0).length, 19);
    const a = carpHmac({ password: 'y'.repeat(19), addresses: ['192.0.2.1'] }, 1, 5n);
    const b = carpHmac({ password: 'y'.repeat(25), addresses: ['192.0.2.1'] }, 1, 5n);
    const c = carpHmac({ password: 'y'.repeat(18), addresses: ['192.0.2.1'] }, 1, 5n);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

describe('CARP codec: round trips', () => {
  it('encode then decode gives back every field, IPv4 and IPv6 groups', () => {
    for (const addresses of [['192.0.2.1'], ['2001:db8::10'], ['192.0.2.1', '2001:db8::10', '192.0.2.2']]) {
      for (const [advbase, advskew, demote] of [[1, 0, 0], [1, 100, 0], [3, 240, 2], [255, 255, 1]] as const) {
        const key = { password: 'change-me', addresses };
        const counter = 0xfedcba9876543210n + BigInt(advskew);
        const p = encodeCarp({ ...key, vhid: 200, advbase, advskew, demote, counter });
        const r = decodeCarp(p, { ttl: 255, vhid: 200, key });
        assert.ok(r.ok);
        assert.deepEqual(
          [r.advert.advbase, r.advert.advskew, r.advert.demote, r.advert.counter, r.advert.vhid],
          [advbase, advskew, demote, counter, 200]);
      }
    }
  });

  it('the IPv6 variant: ff02::12, hop limit 255, next header 112', () => {
    const payload = encodeCarp({ password: 'pw', addresses: ['2001:db8::10'], vhid: 9, advbase: 1, advskew: 0, counter: 1n });
    const pkt = buildIpv6Packet(payload, { src: 'fe80::2', dst: 'ff02::12' });
    assert.equal(pkt.length, 40 + 36);
    const back = parseIpPacket(pkt)!;
    assert.deepEqual([back.family, back.src, back.dst, back.ttl, back.protocol], [6, 'fe80::2', 'ff02::12', 255, 112]);
    assert.ok(decodeCarp(back.payload, { ttl: back.ttl, vhid: 9, key: { password: 'pw', addresses: ['2001:db8::10'] } }).ok);
  });

  it('interval is advbase + advskew/256 seconds', () => {
    assert.equal(carpIntervalMs(1, 0), 1000);
    assert.equal(carpIntervalMs(1, 128), 1500);
    assert.equal(carpIntervalMs(2, 240), 2000 + 240 * 1000 / 256);
  });
});
