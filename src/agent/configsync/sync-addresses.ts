import { formatIP, parseCidr } from '../../config/net.js';
import type { Site } from '../../config/types.js';

/** A node's addresses on the sync interface, IPv4 first: where its endpoint listens, never a VIP. */
export function syncAddresses(site: Site, nodeName: string): string[] {
  const node = site.nodes.find((n) => n.name === nodeName);
  const vips = new Set(site.vips.map((v) => formatIP(parseCidr(v.address))));
  const ips = (node?.interfaces[site.sync.interface] ?? []).map((c) => formatIP(parseCidr(c))).filter((ip) => !vips.has(ip));
  return [...ips.filter((a) => !a.includes(':')), ...ips.filter((a) => a.includes(':'))];
}
