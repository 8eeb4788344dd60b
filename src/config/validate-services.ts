/**
 * Cross-section checks of the services the cluster offers: DHCP and DNS.
 */
import { cidrContains, formatCidr, formatIP, networkOf, parseCidr, parseIP, parseIPv4, type IpAddress } from './net.js';
import type { SiteReport } from './site-report.js';
import type { DhcpDef, Site } from './types.js';
import { checkInterfaceRef, nodeCidrs, vipsOn } from './validate-network.js';

export function validateDhcp(site: Site, report: SiteReport): void {
  for (const dhcp of site.dhcp) {
    if (!checkInterfaceRef(site, report, 'dhcp', dhcp.name, 'interface', dhcp.interface)) continue;
    checkRange(site, report, dhcp);
    checkServerRef(site, report, dhcp, 'gateway', dhcp.gateway);
    for (const server of dhcp.dns) checkServerRef(site, report, dhcp, 'dns', server);
  }
}

/** The pool must sit inside every node's subnet and hand out none of the cluster's own addresses. */
function checkRange(site: Site, report: SiteReport, dhcp: DhcpDef): void {
  const first = parseIPv4(dhcp.range.first);
  const last = parseIPv4(dhcp.range.last);
  const inRange = (ip: IpAddress) => ip.family === 4 && ip.value >= first.value && ip.value <= last.value;
  for (const node of site.nodes) {
    if (report.isBroken('node', node.name, dhcp.interface)) continue;
    const own = nodeCidrs(node, dhcp.interface).filter((c) => c.family === 4);
    if (own.length === 0) {
      report.error('dhcp', dhcp.name, 'interface', `${node.name} has no IPv4 address on ${dhcp.interface} to serve DHCP from`);
      continue;
    }
    if (!own.some((c) => cidrContains(c, first) && cidrContains(c, last))) {
      const subnets = own.map((c) => formatCidr(networkOf(c))).join(', ');
      report.error('dhcp', dhcp.name, 'range', `${dhcp.range.first}-${dhcp.range.last} is not inside ${node.name}'s ${dhcp.interface} subnet ${subnets}`, `addresses in ${subnets}`);
      return;
    }
    const taken = own.find((c) => inRange(c));
    if (taken !== undefined) {
      report.error('dhcp', dhcp.name, 'range', `the pool includes ${node.name}'s own address ${formatIP(taken)}`);
      return;
    }
  }
  const vip = site.vips.find((v) => inRange(parseCidr(v.address)));
  if (vip !== undefined) report.error('dhcp', dhcp.name, 'range', `the pool includes the address of [vip "${vip.name}"]`);
}

/** gateway / dns entries: a VIP on the served interface (as the HA guides say), or an address in the subnet. */
function checkServerRef(site: Site, report: SiteReport, dhcp: DhcpDef, key: string, value: string): void {
  if (value.startsWith('vip:')) {
    const name = value.slice(4);
    const vip = site.vips.find((v) => v.name === name);
    if (vip === undefined) {
      if (!report.isDeclared('vip', name)) report.error('dhcp', dhcp.name, key, `vip "${name}" does not exist`, vipsOn(site, dhcp.interface));
    } else if (vip.interface !== dhcp.interface) {
      report.error('dhcp', dhcp.name, key, `vip "${name}" is on ${vip.interface}, clients on ${dhcp.interface} cannot use it`, vipsOn(site, dhcp.interface));
    }
    return;
  }
  // A node's own address would stop working for clients when that node fails.
  const ip = parseIP(value);
  const owner = site.nodes.find((n) => Object.values(n.interfaces).flat().some((c) => formatIP(parseCidr(c)) === formatIP(ip)));
  if (owner !== undefined) {
    report.error('dhcp', dhcp.name, key, `${value} is ${owner.name}'s own address; clients would lose it when ${owner.name} fails`, vipsOn(site, dhcp.interface));
  }
}

export function validateDns(site: Site, report: SiteReport): void {
  for (const dns of site.dns) {
    for (const iface of dns.listen) checkInterfaceRef(site, report, 'dns', dns.name, 'listen', iface);
  }
}
