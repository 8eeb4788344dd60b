import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CARP_HEADER_LEN, type CarpConfig, type DropReason, type Election, ElectionNode, type Vrrp3Config,
  decodeCarp, decodeVrrp3, encodeCarp, encodeVrrp3, internetChecksum, parseIp, parseIpPacket, pseudoHeader,
} from '../../src/agent/proto/index.js';
import { prng } from './prng.js';


const VHID = 42;
const CARP_VIPS = ['192.0.2.1', '2001:db8::1'];
const VRRP_VIPS = ['192.0.2.1', '192.0.2.5'];
const PASSWORD = 'change-me';
const SOURCES = ['192.0.2.2', '192.0.2.3', '192.0.2.66', 'fe80::3', '2001:db8::3', '', 'garbage', '1.2.3', '::ffff:192.0.2.3'];
const DESTS = ['224.0.0.18', 'ff02::12', '192.0.2.2', '192.0.2.3', 'nope'];

const CARP_REASONS = new Set(['badLength', 'badTtl', 'badVersion', 'badChecksum', 'badType', 'badVhid', 'badAuthLen', 'badHmac']);
const VRRP_REASONS = new Set(['badLength', 'badTtl', 'badVersion', 'badType', 'badVrid', 'badChecksum', 'badAddrCount', 'badInterval', 'badAddrList', 'badAddress']);

function carpConfig(src: string, advskew: number): CarpConfig {
  return {
    protocol: 'carp', vhid: VHID, advbase: 1, advskew, password: PASSWORD, addresses: CARP_VIPS,
    sources: { 4: src }, peers: ['192.0.2.2', '192.0.2.3'], counterSeed: 1n,
  };
}

function vrrpConfig(src: string, priority: number): Vrrp3Config {
  return { protocol: 'vrrp3', vhid: VHID, priority, interval: 7, family: 4, addresses: VRRP_VIPS, sources: { 4: src } };
}

describe('fuzz: codecs and elections take anything', () => {
  it('100,000 random and mutated packets: nothing throws, every drop is counted under a reason', () => {
    const r = prng(0xca4b);
    const N = 100_000;

    // Two nodes per protocol so the machines pass through every state.
    const nodes = [new ElectionNode(), new ElectionNode()];
    const machines: Election[] = [
      nodes[0]!.add(carpConfig('192.0.2.2', 0)), nodes[1]!.add(carpConfig('192.0.2.3', 100)),
      nodes[0]!.add(vrrpConfig('192.0.2.2', 200)), nodes[1]!.add(vrrpConfig('192.0.2.3', 100)),
    ];
    const fed = new Map<Election, number>(machines.map((m) => [m, 0]));
    let now = 0;
    for (const n of nodes) n.start(now);

    const seen = { carp: new Map<string, number>(), vrrp: new Map<string, number>() };
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    const fixCarpSum = (p: Uint8Array) => {
      if (p.length < CARP_HEADER_LEN) return;
      p[6] = 0; p[7] = 0;
      const s = internetChecksum(p.subarray(0, CARP_HEADER_LEN));
      p[6] = s >> 8; p[7] = s & 0xff;
    };
    const fixVrrpSum = (p: Uint8Array, src: string, dst: string) => {
      const s6 = parseIp(src), d6 = parseIp(dst);
      if (p.length < 8 || !s6 || !d6 || s6.length !== d6.length) return;
      p[6] = 0; p[7] = 0;
      const s = internetChecksum(pseudoHeader(s6, d6, 112, p.length), p);
      p[6] = s >> 8; p[7] = s & 0xff;
    };

    for (let i = 0; i < N; i++) {
      const src = r.next() < 0.8 ? r.pick(SOURCES.slice(0, 3)) : r.pick(SOURCES);
      const dst = r.next() < 0.8 ? '224.0.0.18' : r.pick(DESTS);
      const ttl = r.next() < 0.9 ? 255 : r.int(256);
      let p: Uint8Array;
      const kind = r.int(4);
      if (kind === 0) {
        // Noise, often dressed with a plausible first two bytes.
        p = r.bytes(r.int(80));
        if (p.length > 1 && r.next() < 0.6) { p[0] = r.pick([0x21, 0x31, 0x22, 0x32, 0x11]); p[1] = r.next() < 0.7 ? VHID : r.int(256); }
      } else if (kind === 1) {
        p = encodeCarp({
          vhid: r.next() < 0.9 ? VHID : r.int(256), advbase: r.int(256), advskew: r.int(256), demote: r.int(3),
          counter: BigInt(r.int(2 ** 31)) << 20n, password: r.next() < 0.8 ? PASSWORD : 'other',
          addresses: r.next() < 0.85 ? CARP_VIPS : ['192.0.2.9'],
        });
      } else {
        const vips = r.next() < 0.85 ? VRRP_VIPS : Array.from({ length: 1 + r.int(4) }, (_, k) => `192.0.2.${10 + k}`);
        const s = parseIp(src)?.length === 4 ? src : '192.0.2.3';
        p = encodeVrrp3({
          vrid: r.next() < 0.9 ? VHID : r.int(256), priority: r.int(256), maxAdverInt: 1 + r.int(4095),
          addresses: vips, src: s, dst: parseIp(dst)?.length === 4 ? dst : '224.0.0.18',
        });
      }
      if (kind !== 0 && r.next() < 0.75) {
        // Mutate: flip bytes, cut, or grow; then often repair the checksum so
        // the deeper checks (type, VHID, authlen, HMAC, counts) get exercised.
        const q = p.slice();
        for (let k = r.int(4); k >= 0; k--) if (q.length) q[r.int(q.length)] = r.int(256);
        const cut = r.next();
        p = cut < 0.15 ? q.subarray(0, r.int(q.length + 1)) : cut < 0.25 ? Uint8Array.from([...q, ...r.bytes(1 + r.int(20))]) : q;
        if (r.next() < 0.5) (kind === 1 ? fixCarpSum(p) : fixVrrpSum(p, src, dst));
      }

      // Both decoders, with and without the optional context.
      const c = decodeCarp(p, r.next() < 0.8 ? { ttl, vhid: VHID, key: { password: PASSWORD, addresses: CARP_VIPS } } : {});
      bump(seen.carp, c.ok ? 'ok' : c.reason);
      if (!c.ok) assert.ok(CARP_REASONS.has(c.reason), c.reason);
      const v = decodeVrrp3(p, { src, dst, ttl, vrid: VHID, ...(r.next() < 0.5 ? { expectedAddresses: VRRP_VIPS } : {}) });
      bump(seen.vrrp, v.ok ? 'ok' : v.reason);
      if (!v.ok) assert.ok(VRRP_REASONS.has(v.reason), v.reason);
      parseIpPacket(p);

      // The machines: one CARP and one VRRP election hear every packet.
      for (const m of [machines[i % 2]!, machines[2 + ((i >> 1) % 2)]!]) {
        const out = m.handle({ type: 'packet', payload: p, src, dst, ttl }, now);
        fed.set(m, (fed.get(m) ?? 0) + 1);
        assert.ok(out.deadline === null || Number.isFinite(out.deadline));
      }

      // Let time pass and the world change now and then.
      if (i % 50 === 0) {
        now += r.int(400);
        for (const n of nodes) n.tick(now);
      }
      if (i % 997 === 0) {
        const n = r.pick(nodes);
        const op = r.int(8);
        if (op === 0) n.setLink('LAN', r.next() < 0.5, now);
        else if (op === 1) n.demote('manual', r.pick([null, 240, -240, 17]), now);
        else if (op === 2) n.enterMaintenance(now);
        else if (op === 3) n.leaveMaintenance(now);
        else if (op === 4) n.disable(now);
        else if (op === 5) n.enable(now);
        else if (op === 6) { n.shutdown(now); n.start(now); }
        else n.start(now);
      }
    }

    for (const m of machines) {
      const s = m.status();
      const byReason = Object.values(s.counters.dropped).reduce((a, b) => a + (b ?? 0), 0);
      assert.equal(s.counters.received + s.counters.droppedTotal, fed.get(m), `${s.protocol}: every packet accounted for`);
      assert.equal(byReason, s.counters.droppedTotal);
      assert.ok(['INIT', 'BACKUP', 'MASTER'].includes(s.state));
      assert.ok(s.counters.received > 0, `${s.protocol} accepted some`);
    }
    // The fuzzer reached every check of both codecs.
    for (const reason of [...CARP_REASONS, 'ok']) assert.ok((seen.carp.get(reason) ?? 0) > 0, `carp ${reason}`);
    for (const reason of [...VRRP_REASONS, 'ok']) assert.ok((seen.vrrp.get(reason) ?? 0) > 0, `vrrp ${reason}`);
    const machineReasons = new Set<DropReason>();
    for (const m of machines) for (const k of Object.keys(m.status().counters.dropped)) machineReasons.add(k as DropReason);
    for (const reason of ['badHmac', 'badChecksum', 'badVersion', 'self', 'unknownPeer', 'badAddrList'] as const) {
      assert.ok(machineReasons.has(reason), `machines saw ${reason}`);
    }
  });
});
