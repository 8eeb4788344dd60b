/**
 * Cross-section checks of the addressing: nodes, the sync link, VIPs and
 * gateways. Each rule cites the HA guide it comes from where there is one.
 */
import { compareInterfaceNames } from './names.js';
import {
  cidrContains,
  formatCidr,
  formatIP,
  networkOf,
  parseCidr,
  parseIP,
  sameAddress,
  sameSubnet,
  type Cidr,
  type IpAddress,
} from './net.js';
import { MAX_CARP_SKEW, MAX_VRRP_SKEW, nodeSkewOffset } from './skew.js';
import type { SiteReport } from './site-report.js';
import type { NodeDef, Site } from './types.js';

/** Interface names any node defines, WAN/LAN/SYNC/OPTn order. */
export function siteInterfaces(site: Site): string[] {
  return [...new Set(site.nodes.flatMap((n) => Object.keys(n.interfaces)))].sort(compareInterfaceNames);
}

export function nodeCidrs(node: NodeDef, iface: string): Cidr[] {
  return (node.interfaces[iface] ?? []).map(parseCidr);
}

/** Reports an interface reference that no node defines; returns false then. */
export function checkInterfaceRef(site: Site, report: SiteReport, type: string, name: string, key: string, iface: string): boolean {
  const known = siteInterfaces(site);
  if (known.includes(iface) || site.nodes.length === 0) return true;
  report.error(type, name, key, `interface ${iface} is not defined on any node`, known.join(', '));
  return false;
}

/** "vip:a, vip:b" on an interface, for the `allowed` part of messages. */
export function vipsOn(site: Site, iface: string): string {
  const names = site.vips.filter((v) => v.interface === iface).map((v) => `vip:${v.name}`).sort();
  return names.length === 0 ? `no vips are defined on ${iface}` : names.join(', ');
}

function family(ip: IpAddress): string {
  return `IPv${ip.family}`;
}

// ---- nodes -------------------------------------------------------------------

export function validateNodes(site: Site, report: SiteReport): void {
  const nodeCount = report.declaredNames('node').length;
  if (nodeCount < 2) {
    report.error('cluster', undefined, undefined, `a cluster needs at least 2 nodes, found ${nodeCount}`, '[node "NAME"] sections with role = primary / secondary');
  }
  checkOnePrimary(site, report);
  checkNamesUnique(site, report);
  checkSameInterfaces(site, report);
  checkAddressesUnique(site, report);
  checkNoOverlapWithinNode(site, report);
  checkSkewOffsetsDistinct(site, report);
}

function checkOnePrimary(site: Site, report: SiteReport): void {
  const primaries = site.nodes.filter((n) => n.role === 'primary');
  const allNodesParsed = site.nodes.length === report.declaredNames('node').length;
  if (primaries.length === 0 && site.nodes.length > 0 && allNodesParsed) {
    report.error('cluster', undefined, undefined, 'no node has role = primary; exactly one must', 'one [node] with role = primary');
  }
  for (const extra of primaries.slice(1)) {
    const first = primaries[0]?.name ?? '';
    report.error('node', extra.name, 'role', `a second primary (${first} is primary at line ${report.lineOf('node', first, 'role')})`, 'exactly one primary; the others secondary');
  }
}

// Hostnames are case-insensitive; the scanner already refuses exact duplicates.
function checkNamesUnique(site: Site, report: SiteReport): void {
  const seen = new Map<string, string>();
  for (const node of site.nodes) {
    const key = node.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) report.error('node', node.name, undefined, `node name clashes with "${first}" (hostnames ignore case)`);
    else seen.set(key, node.name);
  }
}

// pfSense requires identical interface assignments on all cluster nodes.
function checkSameInterfaces(site: Site, report: SiteReport): void {
  for (const iface of siteInterfaces(site)) {
    const having = site.nodes.filter((n) => iface in n.interfaces);
    for (const node of site.nodes) {
      if (iface in node.interfaces || report.isBroken('node', node.name, iface)) continue;
      const names = having.map((n) => n.name).join(', ');
      report.error('node', node.name, undefined, `has no ${iface} address, but ${names} ${having.length === 1 ? 'has' : 'have'} one`, 'the same interfaces on every node');
    }
  }
}

function checkAddressesUnique(site: Site, report: SiteReport): void {
  const owners = new Map<string, string>();
  for (const node of site.nodes) {
    for (const [iface, cidrs] of Object.entries(node.interfaces)) {
      for (const cidr of cidrs) {
        const ip = formatIP(parseCidr(cidr));
        const owner = owners.get(ip);
        if (owner !== undefined && owner !== `${node.name} ${iface}`) {
          report.error('node', node.name, iface, `${ip} is already used by ${owner}`);
        } else {
          owners.set(ip, `${node.name} ${iface}`);
        }
      }
    }
  }
}

// Two interfaces of one node on one subnet make routing ambiguous.
function checkNoOverlapWithinNode(site: Site, report: SiteReport): void {
  for (const node of site.nodes) {
    const seen: { iface: string; net: Cidr }[] = [];
    for (const iface of Object.keys(node.interfaces).sort(compareInterfaceNames)) {
      for (const cidr of nodeCidrs(node, iface)) {
        const net = networkOf(cidr);
        const clash = seen.find((s) => s.iface !== iface && s.net.family === net.family && (cidrContains(s.net, net) || cidrContains(net, s.net)));
        if (clash !== undefined) {
          report.error('node', node.name, iface, `${formatCidr(cidr)} overlaps ${clash.iface}'s subnet ${formatCidr(clash.net)}`);
        }
        seen.push({ iface, net });
      }
    }
  }
}

// Equal skews make the election a coin toss; every node needs its own offset.
function checkSkewOffsetsDistinct(site: Site, report: SiteReport): void {
  const byOffset = new Map<number, string>();
  for (const node of site.nodes) {
    const offset = nodeSkewOffset(site, node);
    const other = byOffset.get(offset);
    if (other !== undefined) {
      report.error('node', node.name, node.skewOffset === undefined ? 'role' : 'skew_offset', `skew offset ${offset} equals ${other}'s, so the two would tie in every election`, 'a distinct skew_offset per node');
    } else {
      byOffset.set(offset, node.name);
    }
  }
}

// ---- sync link -------------------------------------------------------------------

export function validateSync(site: Site, report: SiteReport): void {
  const iface = site.sync.interface;
  const primary = site.nodes.find((n) => n.role === 'primary') ?? site.nodes[0];
  if (primary === undefined) return;
  for (const node of site.nodes) {
    if (report.isBroken('node', node.name, iface)) continue;
    const cidrs = nodeCidrs(node, iface);
    if (cidrs.length === 0) {
      report.error('node', node.name, undefined, `has no address on the sync interface ${iface}`, `${iface} = address/prefix`);
      continue;
    }
    if (node === primary || report.isBroken('node', primary.name, iface)) continue;
    // Seeds: give each node's sync interface an address in the same subnet.
    for (const own of nodeCidrs(primary, iface)) {
      if (!cidrs.some((c) => sameSubnet(c, own))) {
        const mine = cidrs.filter((c) => c.family === own.family).map(formatCidr).join(', ') || `no IPv${own.family} address`;
        report.error('node', node.name, iface, `${mine} is not in the sync subnet of ${primary.name} (${formatCidr(networkOf(own))})`, `an address in ${formatCidr(networkOf(own))}`);
      }
    }
  }
}

// ---- VIPs -------------------------------------------------------------------------

export function validateVips(site: Site, report: SiteReport): void {
  const vhidOwner = new Map<string, string>();
  const addressOwner = new Map<string, string>();
  for (const vip of site.vips) {
    const ip = parseCidr(vip.address);
    const ipText = formatIP(ip);

    // Seeds: a unique VHID must be used for each shared virtual IP on a given interface.
    const vhidKey = `${vip.interface} ${vip.vhid}`;
    const vhidFirst = vhidOwner.get(vhidKey);
    if (vhidFirst !== undefined) {
      report.error('vip', vip.name, 'vhid', `${vip.vhid} is already used on ${vip.interface} by [vip "${vhidFirst}"] (line ${report.lineOf('vip', vhidFirst, 'vhid')})`, 'a VHID unique on the interface, 1-255');
    } else {
      vhidOwner.set(vhidKey, vip.name);
    }
    const addressFirst = addressOwner.get(ipText);
    if (addressFirst !== undefined) report.error('vip', vip.name, 'address', `${ipText} is already the address of [vip "${addressFirst}"]`);
    else addressOwner.set(ipText, vip.name);

    checkSkews(site, report, vip.name);
    if (!checkInterfaceRef(site, report, 'vip', vip.name, 'interface', vip.interface)) continue;
    for (const node of site.nodes) {
      if (report.isBroken('node', node.name, vip.interface)) continue;
      checkVipFitsNode(report, vip.name, vip.interface, ip, node);
    }
  }
}

/**
 * Seeds: "The virtual IP addresses must fall within the same subnet of an IP
 * address defined on a real interface", on every node, and each node needs a
 * real address of the VIP's family there.
 */
function checkVipFitsNode(report: SiteReport, vipName: string, iface: string, vip: Cidr, node: NodeDef): void {
  const own = nodeCidrs(node, iface).filter((c) => c.family === vip.family);
  if (own.length === 0) {
    report.error('vip', vipName, 'address', `${node.name} has no ${family(vip)} address on ${iface} to carry this VIP`, `add an ${family(vip)} address to ${node.name}'s ${iface}`);
    return;
  }
  if (own.some((c) => sameAddress(c, vip))) {
    report.error('vip', vipName, 'address', `${formatIP(vip)} is ${node.name}'s own ${iface} address; a VIP needs an address of its own`);
    return;
  }
  const containing = own.filter((c) => cidrContains(c, vip));
  const subnets = own.map((c) => formatCidr(networkOf(c))).join(', ');
  if (containing.length === 0) {
    report.error('vip', vipName, 'address', `${formatIP(vip)} is outside ${node.name}'s ${iface} subnet ${subnets}`, `an address in ${subnets}`);
  } else if (!containing.some((c) => c.prefix === vip.prefix)) {
    report.error('vip', vipName, 'address', `prefix /${vip.prefix} differs from ${node.name}'s ${iface} subnet ${subnets}`, `/${containing[0]?.prefix ?? ''}`);
  }
}

/** A node's effective skew (advskew + offset) must stay within the protocol's range. */
function checkSkews(site: Site, report: SiteReport, vipName: string): void {
  const vip = site.vips.find((v) => v.name === vipName);
  if (vip === undefined) return;
  const max = vip.protocol === 'carp' ? MAX_CARP_SKEW : MAX_VRRP_SKEW;
  for (const node of site.nodes) {
    const offset = nodeSkewOffset(site, node);
    const skew = vip.advskew + offset;
    if (skew > max) {
      const why = node.skewOffset === undefined && node.role === 'secondary' ? 'secondary_skew_offset' : `${node.name}'s skew_offset`;
      const vrrpNote = vip.protocol === 'vrrp3' ? ` (VRRPv3 priority = 254 - skew must stay >= 1)` : '';
      report.error('vip', vipName, 'advskew', `advskew ${vip.advskew} + ${why} ${offset} = ${skew} on ${node.name} exceeds ${max}${vrrpNote}`, `advskew 0-${max - offset} with this offset`);
    }
  }
}

// ---- gateways ---------------------------------------------------------------------

export function validateGateways(site: Site, report: SiteReport): void {
  const defaultOf = new Map<number, string>();
  for (const gw of site.gateways) {
    const ip = parseIP(gw.address);
    if (gw.isDefault) {
      const first = defaultOf.get(ip.family);
      if (first !== undefined) report.error('gateway', gw.name, 'default', `[gateway "${first}"] is already the ${family(ip)} default gateway`, 'default = yes on one gateway per address family');
      else defaultOf.set(ip.family, gw.name);
    }
    if (!checkInterfaceRef(site, report, 'gateway', gw.name, 'interface', gw.interface)) continue;
    for (const node of site.nodes) {
      if (report.isBroken('node', node.name, gw.interface)) continue;
      const own = nodeCidrs(node, gw.interface).filter((c) => c.family === ip.family);
      const subnets = own.map((c) => formatCidr(networkOf(c))).join(', ');
      if (own.length === 0) {
        report.error('gateway', gw.name, 'address', `${node.name} has no ${family(ip)} address on ${gw.interface} to reach ${gw.address}`);
      } else if (own.some((c) => sameAddress(c, ip))) {
        report.error('gateway', gw.name, 'address', `${gw.address} is ${node.name}'s own ${gw.interface} address`);
      } else if (!own.some((c) => cidrContains(c, ip))) {
        report.error('gateway', gw.name, 'address', `${gw.address} is outside ${node.name}'s ${gw.interface} subnet ${subnets}`, `an address in ${subnets}`);
      }
    }
    const vip = site.vips.find((v) => sameAddress(parseCidr(v.address), ip));
    if (vip !== undefined) report.error('gateway', gw.name, 'address', `${gw.address} is the cluster's own [vip "${vip.name}"]`);
  }
}
