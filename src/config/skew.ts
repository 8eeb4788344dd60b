/**
 * Election parameters derived from the site: effective skew per node, the
 * VRRPv3 priority that stands for it, and the virtual MAC of a VIP.
 */
import { parseCidr } from './net.js';
import type { NodeDef, Site, VipDef } from './types.js';

/** CARP advskew is 0-254 (FreeBSD carp(4)). */
export const MAX_CARP_SKEW = 254;
/** VRRPv3 priority 0 means "master is leaving", so the highest usable skew maps to priority 1. */
export const MAX_VRRP_SKEW = 253;

/**
 * The offset a node adds to every VIP's advskew: its own skew_offset if set,
 * else 0 for the primary and cluster.secondary_skew_offset for secondaries
 * (pfSense's XML-RPC sync adds +100 on the secondary).
 */
export function nodeSkewOffset(site: Site, node: NodeDef): number {
  return node.skewOffset ?? (node.role === 'primary' ? 0 : site.cluster.secondarySkewOffset);
}

/** The advskew this node advertises for the VIP (lower wins the election). */
export function effectiveSkew(site: Site, vip: VipDef | string, nodeName: string): number {
  const vipDef = typeof vip === 'string' ? site.vips.find((v) => v.name === vip) : vip;
  if (vipDef === undefined) throw new Error(`no vip "${String(vip)}" in site ${site.cluster.name}`);
  const node = site.nodes.find((n) => n.name === nodeName);
  if (node === undefined) throw new Error(`no node "${nodeName}" in site ${site.cluster.name}`);
  return vipDef.advskew + nodeSkewOffset(site, node);
}

/**
 * VRRPv3 priority for a skew: 254 - skew. Skew 0 (primary) -> 254, skew 100
 * (default secondary) -> 154; higher priority wins, as lower skew wins in CARP.
 * 255 stays reserved for an address owner, which a VIP never is.
 */
export function vrrpPriority(skew: number): number {
  return 254 - skew;
}

/**
 * The VIP's virtual MAC: 00:00:5e:00:01:<vhid> for CARP (either family) and
 * for VRRP over IPv4, 00:00:5e:00:02:<vrid> for VRRP over IPv6 (RFC 5798 7.3).
 */
export function virtualMac(vip: VipDef): string {
  const family = parseCidr(vip.address).family;
  const block = vip.protocol === 'vrrp3' && family === 6 ? '02' : '01';
  return `00:00:5e:00:${block}:${vip.vhid.toString(16).padStart(2, '0')}`;
}

/** Advertisement interval in milliseconds: advbase seconds for CARP, interval_ms for VRRPv3. */
export function advertIntervalMs(vip: VipDef): number {
  return vip.protocol === 'carp' ? vip.advbase * 1000 : (vip.intervalMs ?? 1000);
}
