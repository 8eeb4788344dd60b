// Kernel settings carpd needs for VIPs held on macvlans, written to
// /proc/sys of carpd's own network namespace. Why each one, in one place
// (the README's list comes from here):
//
// Every interface carrying an IPv4 VIP (WAN, LAN, ...):
//   net.ipv4.conf.<if>.arp_ignore = 1
//       Answer ARP only for addresses configured on the interface the request
//       came in on. Linux's default (0) answers for any local address on any
//       interface: the base port would answer for the VIP with its own MAC,
//       next to the macvlan's answer with the virtual MAC.
//   net.ipv4.conf.<if>.arp_announce = 2
//       ARP requests this node sends carry the interface's own address, never
//       a VIP, so a neighbour never learns "VIP is at <base MAC>" (e.g. when
//       the VIP was the source of the packet that needed the resolution).
// Each VIP's macvlan:
//   arp_ignore = 1, arp_announce = 2
//       The macvlan also receives every broadcast ARP on the segment: it must
//       answer only for its own VIP (not for the port's addresses nor for a
//       sibling VIP), and only ever with the virtual MAC.
//   rp_filter = 2 (loose)
//       Traffic for the VIP arrives on the macvlan, while the route back to
//       its source is via the base port: strict reverse-path filtering would
//       drop it. The kernel uses max(all, <if>), so 2 wins over all=1.
//   IPv4 VIP: net.ipv6.conf.<mv>.disable_ipv6 = 1
//       No IPv6 on a macvlan that only carries an IPv4 VIP: no link-local
//       address derived from the shared virtual MAC (identical on both nodes),
//       hence no DAD, MLD or router solicitations from it.
//   IPv6 VIP: addr_gen_mode none (set with ip), accept_dad = 0, accept_ra = 0
//       No link-local from the shared virtual MAC either; no DAD, because
//       during a graceful handover both nodes hold the VIP for a moment and
//       DAD would mark it "dadfailed" (the VIP itself is added with nodad);
//       no autoconfiguration from router advertisements.
//   forwarding = the base port's (IPv4 and IPv6): packets routed through the
//       firewall arrive on the macvlan and IPv4 checks forwarding per input
//       interface.

import { readFileSync, writeFileSync } from 'node:fs';

export interface SysctlResult { key: string; value: string; ok: boolean; error?: string }

function path(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** net.ipv4.conf.LAN.arp_ignore style keys; interface names may not contain dots here. */
export function writeSysctl(key: string, value: string | number): SysctlResult {
  try {
    writeFileSync(path(key), String(value));
    return { key, value: String(value), ok: true };
  } catch (e) {
    return { key, value: String(value), ok: false, error: (e as Error).message };
  }
}

export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(path(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Settings on a port that carries IPv4 VIPs. */
export function basePortSysctls(iface: string): Array<[string, number]> {
  return [
    [`net.ipv4.conf.${iface}.arp_ignore`, 1],
    [`net.ipv4.conf.${iface}.arp_announce`, 2],
  ];
}

/** Settings on a VIP's macvlan (after it exists, before it goes up). */
export function macvlanSysctls(macvlan: string, base: string, family: 4 | 6): Array<[string, number]> {
  const v4fwd = Number(readSysctl(`net.ipv4.conf.${base}.forwarding`) ?? 0);
  const out: Array<[string, number]> = [
    [`net.ipv4.conf.${macvlan}.arp_ignore`, 1],
    [`net.ipv4.conf.${macvlan}.arp_announce`, 2],
    [`net.ipv4.conf.${macvlan}.rp_filter`, 2],
    [`net.ipv4.conf.${macvlan}.forwarding`, v4fwd],
  ];
  if (family === 4) {
    out.push([`net.ipv6.conf.${macvlan}.disable_ipv6`, 1]);
  } else {
    const v6fwd = Number(readSysctl(`net.ipv6.conf.${base}.forwarding`) ?? 0);
    out.push(
      [`net.ipv6.conf.${macvlan}.accept_dad`, 0],
      [`net.ipv6.conf.${macvlan}.accept_ra`, 0],
      [`net.ipv6.conf.${macvlan}.forwarding`, v6fwd],
    );
  }
  return out;
}
