/**
 * Helper process for the raw-socket rig tests: runs inside a namespace
 * (spawned with host.spawn('node', [thisFile, JSON spec])) and speaks JSON
 * lines on stdout. The addon path comes from CARPD_ADDON.
 *
 *   {"mode":"recv","family":4,"protocol":112,"interface":"LAN","groups":["224.0.0.18"],"count":3}
 *   {"mode":"send","family":4,"protocol":112,"interface":"LAN","destination":"224.0.0.18","payloads":["aa"],"ttl":255}
 *   {"mode":"garp","interface":"LAN","address":"192.0.2.100","mac":"00:00:5e:00:01:31"}
 *   {"mode":"na","interface":"LAN","address":"2001:db8::100","mac":"00:00:5e:00:02:31","router":true}
 */
import { RawSocket, sendGratuitousArp, sendUnsolicitedNA, type Family, type RawPacket } from '../../../src/native/raw.js';

interface Spec {
  mode: 'recv' | 'send' | 'garp' | 'na';
  family?: Family;
  protocol?: number;
  interface?: string;
  groups?: string[];
  count?: number;
  timeoutMs?: number;
  iterate?: boolean;
  destination?: string;
  payloads?: string[];
  ttl?: number;
  bindAddress?: string;
  /** Per-datagram source address (IP_PKTINFO / IPV6_PKTINFO). */
  source?: string;
  address?: string;
  mac?: string;
  router?: boolean;
}

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function show(p: RawPacket, ticks: number): Record<string, unknown> {
  return {
    packet: true,
    family: p.family,
    source: p.source,
    destination: p.destination,
    ttl: p.ttl,
    ifindex: p.ifindex,
    scopeId: p.scopeId,
    payload: p.payload.toString('hex'),
    ticks,
  };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) {
    console.error('usage: native-peer.js JSON-SPEC');
    process.exitCode = 2;
    return;
  }
  const spec = JSON.parse(arg) as Spec;
  switch (spec.mode) {
    case 'recv': {
      const sock = RawSocket.open({
        family: spec.family ?? 4,
        protocol: spec.protocol ?? 112,
        ...(spec.interface ? { interface: spec.interface } : {}),
        groups: spec.groups ?? [],
      });
      // the event loop must keep turning while we wait for packets
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const want = spec.count ?? 1;
      const timer = setTimeout(() => {
        out({ timeout: true, ticks, stats: sock.stats });
        sock.close();
        process.exit(3);
      }, spec.timeoutMs ?? 10_000);
      out({ ready: true, ifindex: sock.ifindex, node: process.version });
      let n = 0;
      if (spec.iterate) {
        for await (const p of sock) {
          out(show(p, ticks));
          if (++n >= want) break;
        }
      } else {
        await new Promise<void>((resolve) => {
          sock.on('packet', (p) => {
            out(show(p, ticks));
            if (++n >= want) resolve();
          });
        });
      }
      clearTimeout(timer);
      clearInterval(ticker);
      out({ done: true, ticks, stats: sock.stats });
      sock.close();
      return;
    }
    case 'send': {
      const sock = RawSocket.open({
        family: spec.family ?? 4,
        protocol: spec.protocol ?? 112,
        ...(spec.interface ? { interface: spec.interface } : {}),
        ...(spec.ttl ? { ttl: spec.ttl } : {}),
        ...(spec.bindAddress ? { bindAddress: spec.bindAddress } : {}),
        receive: false,
      });
      for (const hex of spec.payloads ?? []) {
        sock.send(Buffer.from(hex, 'hex'), spec.destination ?? '224.0.0.18', undefined, spec.source);
        await new Promise((r) => setTimeout(r, 20));
      }
      out({ sent: sock.stats.sent });
      sock.close();
      return;
    }
    case 'garp': {
      const n = sendGratuitousArp({ interface: spec.interface ?? 'LAN', address: spec.address ?? '', ...(spec.mac ? { mac: spec.mac } : {}) });
      out({ sent: n });
      return;
    }
    case 'na': {
      const n = sendUnsolicitedNA({
        interface: spec.interface ?? 'LAN',
        address: spec.address ?? '',
        ...(spec.mac ? { mac: spec.mac } : {}),
        ...(spec.router !== undefined ? { router: spec.router } : {}),
      });
      out({ sent: n });
      return;
    }
  }
}

main().catch((e: unknown) => {
  const err = e as { message?: string; code?: string };
  out({ error: err.message ?? String(e), code: err.code });
  process.exitCode = 1;
});
