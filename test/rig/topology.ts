/**
 * The standard HA topology of the namespace rig (the issue's picture):
 *
 *            upstream (WAN .10)
 *                 |
 *   ------------ wan bridge ------------      203.0.113.0/24, 2001:db8:0:1::/64
 *        |WAN .2                 |WAN .3
 *       fw1 ------ sync ------- fw2          172.16.1.0/30 (SYNC)
 *        |LAN .2                 |LAN .3
 *   ------------ lan bridge ------------      192.168.1.0/24, 2001:db8:0:2::/64
 *                 |
 *            client (LAN .10), default via the LAN VIP (.1)
 *
 * VIPs are .1 on WAN and LAN (not configured here: that is carpd's job, or
 * the peers'). Firewalls forward; the upstream routes the LAN prefix to the
 * WAN VIP (IPv6: 2001:db8:0:2::/64 via the WAN VIP6).
 */
import { type Host, type Rig, sleep, waitUntil } from './netns.js';

export const HA = {
  fw1: { WAN: ['203.0.113.2/24', '2001:db8:0:1::2/64'], LAN: ['192.168.1.2/24', '2001:db8:0:2::2/64'], SYNC: ['172.16.1.1/30'] },
  fw2: { WAN: ['203.0.113.3/24', '2001:db8:0:1::3/64'], LAN: ['192.168.1.3/24', '2001:db8:0:2::3/64'], SYNC: ['172.16.1.2/30'] },
  client: { LAN: ['192.168.1.10/24', '2001:db8:0:2::10/64'] },
  upstream: { WAN: ['203.0.113.10/24', '2001:db8:0:1::10/64'] },
  vip: { LAN: '192.168.1.1', WAN: '203.0.113.1', LAN6: '2001:db8:0:2::1', WAN6: '2001:db8:0:1::1' },
  bridges: { WAN: 'wan', LAN: 'lan', SYNC: 'sync' },
} as const;

export interface HaTopology {
  rig: Rig;
  fw1: Host;
  fw2: Host;
  client: Host;
  upstream: Host;
  firewalls: Host[];
}

export interface HaTopologyOptions {
  /** Client's default gateway (default the LAN VIP). */
  clientGateway?: string;
  clientGateway6?: string;
  /** Upstream's route to the LAN prefix (default via the WAN VIP; null: none). */
  upstreamRoute?: string | null;
  upstreamRoute6?: string | null;
  /** Wait for IPv6 DAD to finish everywhere before returning (default true). */
  settle?: boolean;
}

/** Build fw1, fw2, client and upstream on the wan/lan/sync bridges. */
export async function haTopology(rig: Rig, opts: HaTopologyOptions = {}): Promise<HaTopology> {
  const fw1 = await rig.host('fw1');
  const fw2 = await rig.host('fw2');
  const client = await rig.host('client');
  const upstream = await rig.host('upstream');
  for (const [fw, a] of [
    [fw1, HA.fw1],
    [fw2, HA.fw2],
  ] as const) {
    await rig.link(fw, 'WAN', HA.bridges.WAN, { addresses: [...a.WAN] });
    await rig.link(fw, 'LAN', HA.bridges.LAN, { addresses: [...a.LAN] });
    await rig.link(fw, 'SYNC', HA.bridges.SYNC, { addresses: [...a.SYNC] });
    await fw.sysctl('net.ipv4.ip_forward', 1);
    await fw.sysctl('net.ipv6.conf.all.forwarding', 1);
  }
  await rig.link(client, 'LAN', HA.bridges.LAN, { addresses: [...HA.client.LAN] });
  await rig.link(upstream, 'WAN', HA.bridges.WAN, { addresses: [...HA.upstream.WAN] });
  await client.succeed('ip', ['route', 'add', 'default', 'via', opts.clientGateway ?? HA.vip.LAN]);
  await client.succeed('ip', ['-6', 'route', 'add', 'default', 'via', opts.clientGateway6 ?? HA.vip.LAN6]);
  const up = opts.upstreamRoute === undefined ? HA.vip.WAN : opts.upstreamRoute;
  if (up !== null) await upstream.succeed('ip', ['route', 'add', '192.168.1.0/24', 'via', up]);
  const up6 = opts.upstreamRoute6 === undefined ? HA.vip.WAN6 : opts.upstreamRoute6;
  if (up6 !== null) await upstream.succeed('ip', ['-6', 'route', 'add', '2001:db8:0:2::/64', 'via', up6]);
  if (opts.settle ?? true) await rig.settle();
  return { rig, fw1, fw2, client, upstream, firewalls: [fw1, fw2] };
}

/** Wait until the interface's link-local address has finished DAD (usable as a source). */
export async function waitLinkLocal(host: Host, ifname: string, timeoutMs = 5000): Promise<string> {
  return waitUntil(
    async () => {
      const out = await host.succeed('ip', ['-j', '-6', 'addr', 'show', 'dev', ifname, 'scope', 'link']);
      const j = JSON.parse(out) as Array<{ addr_info?: Array<{ local?: string; tentative?: boolean }> }>;
      // ip -j prints {} for addresses the filter dropped
      const a = (j[0]?.addr_info ?? []).find((x) => x.local?.startsWith('fe80:') && !x.tentative);
      return a?.local;
    },
    { timeoutMs, what: `${host.name}: link-local address on ${ifname}` },
  );
}

/** Which of `hosts` hold `address` on `ifname` right now. */
export async function holders(hosts: Host[], ifname: string, address: string): Promise<Host[]> {
  const has = await Promise.all(hosts.map((h) => h.hasAddress(ifname, address)));
  return hosts.filter((_, i) => has[i]);
}

/**
 * Wait until exactly one of `hosts` holds `address` and keeps holding it,
 * alone, for `stableMs`; returns that host. (A split brain or a flap during
 * the stable window restarts the wait.)
 */
export async function waitForSingleHolder(
  hosts: Host[],
  ifname: string,
  address: string,
  opts: { timeoutMs?: number; stableMs?: number; expect?: Host } = {},
): Promise<Host> {
  const stable = opts.stableMs ?? 2000;
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last: Host[] = [];
  for (;;) {
    last = await holders(hosts, ifname, address);
    const only = last.length === 1 ? last[0] : undefined;
    if (only && (!opts.expect || only === opts.expect)) {
      const since = Date.now();
      let ok = true;
      while (Date.now() - since < stable) {
        await sleep(100);
        const now = await holders(hosts, ifname, address);
        if (now.length !== 1 || now[0] !== only) {
          ok = false;
          last = now;
          break;
        }
      }
      if (ok) return only;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no single stable holder of ${address} on ${ifname}` +
          `${opts.expect ? ` (expected ${opts.expect.name})` : ''}; holders: [${last.map((h) => h.name).join(', ')}]`,
      );
    }
    await sleep(100);
  }
}
