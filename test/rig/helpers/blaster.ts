/**
 * Sends malformed protocol-112 packets at a running carpd, from a rig
 * namespace (spawned with CARPD_ADDON set):
 *
 *   node blaster.js '{"interface":"LAN","count":5000,"vhid":1,"password":"x","address":"192.168.1.1","seed":7}'
 *   node blaster.js '{..., "valid": true}'    only correct adverts, signed with the password
 *
 * A deterministic mix: random garbage of every length up to 80 bytes; valid
 * CARP and VRRPv3 adverts for the VHID with bytes flipped, truncated or
 * padded; the right advert signed with the wrong password; TTL 1 copies;
 * other VHIDs. Prints {"sent":N,"errors":M} when done.
 */
import { encodeCarp, encodeVrrp3 } from '../../../src/agent/proto/index.js';
import { RawSocket } from '../../../src/native/raw.js';

interface Spec {
  interface: string; count: number; vhid: number; password: string; address: string; source: string; seed?: number;
  /** Send only well-formed, correctly signed CARP adverts (TTL 255): an authenticated stranger. */
  valid?: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const rand = rng(spec.seed ?? 1);
const int = (n: number) => Math.floor(rand() * n);
const sock = RawSocket.open({ family: 4, protocol: 112, interface: spec.interface, receive: false });
const low = RawSocket.open({ family: 4, protocol: 112, interface: spec.interface, receive: false, ttl: 1 });

function carp(password = spec.password, vhid = spec.vhid): Uint8Array {
  return encodeCarp({ vhid, advbase: 1, advskew: int(255), counter: BigInt(int(1e9)), password, addresses: [spec.address] });
}

function vrrp(vhid = spec.vhid): Uint8Array {
  return encodeVrrp3({ vrid: vhid, priority: 1 + int(254), maxAdverInt: 1 + int(400), addresses: [spec.address], src: spec.source, dst: '224.0.0.18' });
}

function mutate(p: Uint8Array): Uint8Array {
  const q = Uint8Array.from(p);
  switch (int(4)) {
    case 0: { // flip 1-3 bytes (never byte 1, so the packet still reaches the VIP's election)
      for (let i = 0, n = 1 + int(3); i < n; i++) {
        const at = int(q.length);
        if (at !== 1) q[at] = (q[at] ?? 0) ^ (1 + int(255));
      }
      return q;
    }
    case 1: return q.subarray(0, int(q.length));
    case 2: return Uint8Array.from([...q, ...Array.from({ length: 1 + int(40) }, () => int(256))]);
    default: { q[0] = int(256); return q; } // any version/type nibble
  }
}

function garbage(): Uint8Array {
  const q = Uint8Array.from({ length: int(81) }, () => int(256));
  if (q.length > 1 && rand() < 0.7) q[1] = spec.vhid;
  return q;
}

let sent = 0, errors = 0;
for (let i = 0; i < spec.count; i++) {
  const kind = spec.valid ? 7 : i % 7;
  const p =
    kind === 0 ? garbage()
    : kind === 1 ? mutate(carp())
    : kind === 2 ? mutate(vrrp())
    : kind === 3 ? carp('wrong-password')
    : kind === 4 ? carp(spec.password, 1 + int(255))
    : kind === 5 ? mutate(carp())
    : kind === 6 ? carp()
    : encodeCarp({ vhid: spec.vhid, advbase: 1, advskew: 200, counter: BigInt(i), password: spec.password, addresses: [spec.address] });
  try {
    (kind === 6 ? low : sock).send(p, '224.0.0.18'); // kind 6: a valid advert with TTL 1
    sent++;
  } catch {
    errors++;
  }
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5)); // do not just overflow socket buffers
}
process.stdout.write(JSON.stringify({ sent, errors }) + '\n');
sock.close();
low.close();
