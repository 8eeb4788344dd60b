/**
 * Kernel settings for a firewall node, in the order they must be applied.
 * The settings of each VIP macvlan (and of the ports carrying IPv4 VIPs) are
 * carpd's takeover code's job (src/agent/carp/sysctl.ts), applied when it
 * creates the macvlans; these node-wide settings are consistent with them.
 *
 * Decisions (each entry carries its reason in `why`):
 *
 *   Forwarding first. Writing net.ipv4.ip_forward resets the IPv4
 *   per-interface settings to router defaults (kernel ip-sysctl docs) and
 *   sets `default` too, so it comes before everything it would undo, and
 *   macvlans created later forward as well.
 *
 *   rp_filter: loose (2) on the data ports and as the default for new
 *   devices (the VIP macvlans, which carpd also sets to 2), strict (1) on the
 *   sync link, and all = 0 (the kernel uses max(all, <dev>), so `all` must not
 *   raise the per-device values). Strict filtering breaks an HA router: a
 *   LAN client's packets to the gateway VIP arrive on the VIP's macvlan
 *   (LAN-vh1) while the route back to the client is via the port (LAN), and
 *   after a failover flows arrive where the old master's routes never
 *   pointed. Loose mode still drops sources with no route at all; which
 *   sources may enter which interface is the firewall rules' job (as on
 *   pfSense). The sync link is a point-to-point cable with no VIPs: strict.
 *
 *   ARP (keepalived's vrrp_if_config.c and NOTE_vrrp_vmac.txt):
 *   arp_ignore = 1 so a device answers ARP only for addresses configured on
 *   it (the port never answers for a VIP with its own MAC, a macvlan never
 *   answers for the node's address with the virtual MAC); arp_announce = 2 so
 *   ARP requests carry the port's own address, never a VIP (a neighbour would
 *   learn "VIP is at <real MAC>" and blackhole the VIP after a failover).
 *   Set on `all`, they hold for every port and macvlan (max(all, <dev>)).
 *   arp_filter stays 0: arp_ignore already does the work.
 *
 *   Conntrack: nf_conntrack_tcp_loose = 1 (default 1, set explicitly) picks
 *   up TCP connections mid-stream after a failover; nf_conntrack_tcp_be_liberal
 *   = 1 keeps out-of-window packets of committed or picked-up connections
 *   (whose windows the new master never saw) from turning INVALID and being
 *   dropped; nf_conntrack_events = 1 so conntrackd always gets events;
 *   nf_conntrack_max (and the hash buckets, one per entry) sized as the
 *   conntrackd caches assume. max and buckets are host-wide (read-only in a
 *   child network namespace): scope "host".
 *
 *   Redirects off: a firewall must not let ICMP redirects change its routes,
 *   and its redirects would name its real address, not the VIP.
 */
import { compareInterfaceNames } from '../../config/names.js';
import type { Site } from '../../config/types.js';
import { DEFAULT_CONNTRACK_MAX } from '../statesync/conntrackd-conf.js';

export interface Sysctl {
  /** Path under /proc/sys, slash-separated (device names may contain dots). */
  path: string;
  value: string;
  why: string;
  /** netns: per network namespace; host: global, writable only in the initial namespace. */
  scope: 'netns' | 'host';
  /** Exists only once this module is loaded (nf_conntrack loads with the ruleset). */
  needs?: 'nf_conntrack';
}

export interface SysctlOptions {
  conntrackMax?: number;
}

/** `net.ipv4.ip_forward` style when no segment holds a dot, else the slash form sysctl.d also accepts. */
export function sysctlKey(s: Pick<Sysctl, 'path'>): string {
  const parts = s.path.split('/');
  return parts.some((p) => p.includes('.')) ? s.path : parts.join('.');
}

const ipv4 = (dev: string, key: string) => `net/ipv4/conf/${dev}/${key}`;
const ipv6 = (dev: string, key: string) => `net/ipv6/conf/${dev}/${key}`;

/** Router settings for one node, in application order. */
export function routerSysctls(site: Site, nodeName: string, opts: SysctlOptions = {}): Sysctl[] {
  const node = site.nodes.find((n) => n.name === nodeName);
  if (node === undefined) throw new Error(`no node "${nodeName}" in site ${site.cluster.name}`);
  const max = opts.conntrackMax ?? DEFAULT_CONNTRACK_MAX;
  const out: Sysctl[] = [];
  const add = (path: string, value: string | number, why: string, extra: Partial<Sysctl> = {}) =>
    out.push({ path, value: String(value), why, scope: 'netns', ...extra });

  add('net/ipv4/ip_forward', 1, 'route IPv4; first, because writing it resets the per-interface IPv4 settings');
  add(ipv6('all', 'forwarding'), 1, 'route IPv6 on every interface');
  add(ipv6('default', 'forwarding'), 1, 'route IPv6 on interfaces created later (VIP macvlans)');

  add(ipv4('all', 'rp_filter'), 0, 'the kernel applies max(all, device): leave the choice to each device');
  add(ipv4('default', 'rp_filter'), 2, 'loose reverse-path filter for devices created later');
  const ifaces = [...new Set([...Object.keys(node.interfaces), site.sync.interface])].sort(compareInterfaceNames);
  for (const iface of ifaces) {
    if (iface === site.sync.interface) add(ipv4(iface, 'rp_filter'), 1, 'strict reverse-path filter on the point-to-point sync link (no VIPs there)');
    else add(ipv4(iface, 'rp_filter'), 2, 'loose reverse-path filter: VIP macvlans and failovers make paths asymmetric');
  }

  add(ipv4('all', 'arp_ignore'), 1, 'answer ARP only for addresses on the receiving device: ports never claim VIPs, macvlans never claim node addresses');
  add(ipv4('all', 'arp_announce'), 2, 'ARP requests carry the port\'s own address, never a VIP, so neighbours never map a VIP to a real MAC');
  add(ipv4('all', 'arp_filter'), 0, 'arp_ignore does the work; arp_filter would tie ARP replies to routing decisions');

  add(ipv4('all', 'send_redirects'), 0, 'no ICMP redirects naming our real address');
  add(ipv4('default', 'send_redirects'), 0, 'no ICMP redirects on devices created later');
  add(ipv4('all', 'accept_redirects'), 0, 'a firewall keeps its own routes');
  add(ipv4('default', 'accept_redirects'), 0, 'a firewall keeps its own routes');
  add(ipv6('all', 'accept_redirects'), 0, 'a firewall keeps its own routes');
  add(ipv6('default', 'accept_redirects'), 0, 'a firewall keeps its own routes');

  const ct = { needs: 'nf_conntrack' as const };
  add('net/netfilter/nf_conntrack_tcp_loose', 1, 'pick up TCP connections mid-stream after a failover (default 1, set explicitly)', ct);
  add('net/netfilter/nf_conntrack_tcp_be_liberal', 1, 'taken-over connections\' windows were never seen here: do not mark out-of-window packets INVALID', ct);
  add('net/netfilter/nf_conntrack_events', 1, 'conntrackd replicates from conntrack events', ct);
  add('net/netfilter/nf_conntrack_max', max, 'the table size conntrackd\'s caches and netlink buffers are sized for', { ...ct, scope: 'host' });
  add('net/netfilter/nf_conntrack_buckets', max, 'one hash bucket per entry', { ...ct, scope: 'host' });

  return out;
}

/** sysctl.d text (`sysctl -p FILE`), with each reason as a comment. */
export function renderSysctlConf(list: readonly Sysctl[], title = 'carpenter router settings'): string {
  const lines = [`# ${title}. Generated by carpenter; do not edit.`];
  for (const s of list) {
    lines.push(`# ${s.why}${s.scope === 'host' ? ' [host-wide]' : ''}${s.needs ? ` [needs ${s.needs}]` : ''}`);
    lines.push(`${sysctlKey(s)} = ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}
