/**
 * Cross-section checks of the filter policy: aliases, rules and outbound NAT.
 */
import { ALIAS_NAME } from './names.js';
import { cidrContains, formatCidr, formatIP, parseCidr, type Cidr } from './net.js';
import { parseAddressRef, resolveAddressRef } from './refs.js';
import type { SiteReport } from './site-report.js';
import type { AliasDef, Site } from './types.js';
import { checkInterfaceRef, nodeCidrs, vipsOn } from './validate-network.js';

// ---- aliases ------------------------------------------------------------------

export function validateAliases(site: Site, report: SiteReport): void {
  for (const alias of site.aliases) {
    for (const member of alias.members.filter((m) => ALIAS_NAME.test(m))) {
      const target = site.aliases.find((a) => a.name === member);
      if (target === undefined) {
        if (!report.isDeclared('alias', member)) report.error('alias', alias.name, 'members', `alias "${member}" does not exist`, aliasNames(site, compatibleTypes(alias.type)));
      } else if (!compatibleTypes(alias.type).includes(target.type)) {
        report.error('alias', alias.name, 'members', `alias "${member}" is a ${target.type} alias and cannot be part of a ${alias.type} alias`, aliasNames(site, compatibleTypes(alias.type)));
      }
    }
    const cycle = findCycle(site, alias.name, []);
    if (cycle !== undefined && cycle[0] === alias.name) {
      report.error('alias', alias.name, 'members', `aliases include each other: ${cycle.join(' -> ')}`);
    }
  }
}

// A network alias may list host aliases (a host is a /32 or /128 network).
function compatibleTypes(type: AliasDef['type']): AliasDef['type'][] {
  return type === 'network' ? ['network', 'host'] : [type];
}

function aliasNames(site: Site, types: AliasDef['type'][]): string {
  const names = site.aliases.filter((a) => types.includes(a.type)).map((a) => a.name).sort();
  return names.length === 0 ? `no ${types.join('/')} aliases are defined` : names.join(', ');
}

function findCycle(site: Site, name: string, path: string[]): string[] | undefined {
  if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
  const alias = site.aliases.find((a) => a.name === name);
  if (alias === undefined) return undefined;
  for (const member of alias.members.filter((m) => ALIAS_NAME.test(m))) {
    const cycle = findCycle(site, member, [...path, name]);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

// ---- address expressions shared by rules and NAT ------------------------------------

/** Checks that the names in an address expression exist; false when one does not. */
function checkAddressRef(site: Site, report: SiteReport, type: string, name: string, key: string, text: string): boolean {
  const ref = parseAddressRef(text);
  switch (ref.kind) {
    case 'alias': {
      const alias = site.aliases.find((a) => a.name === ref.name);
      if (alias === undefined) {
        if (!report.isDeclared('alias', ref.name)) report.error(type, name, key, `alias "${ref.name}" does not exist`, aliasNames(site, ['host', 'network']));
        return false;
      }
      if (alias.type === 'port') {
        report.error(type, name, key, `alias "${ref.name}" is a port alias; addresses need a host or network alias`, aliasNames(site, ['host', 'network']));
        return false;
      }
      return true;
    }
    case 'vip':
      return checkVipRef(site, report, type, name, key, ref.name);
    case 'net':
      return checkInterfaceRef(site, report, type, name, key, ref.iface);
    default:
      return true;
  }
}

function checkVipRef(site: Site, report: SiteReport, type: string, name: string, key: string, vipName: string): boolean {
  if (site.vips.some((v) => v.name === vipName)) return true;
  if (!report.isDeclared('vip', vipName)) {
    const known = site.vips.map((v) => `vip:${v.name}`).sort().join(', ') || 'no vips are defined';
    report.error(type, name, key, `vip "${vipName}" does not exist`, known);
  }
  return false;
}

// ---- rules -----------------------------------------------------------------------

export function validateRules(site: Site, report: SiteReport): void {
  for (const rule of site.rules) {
    checkInterfaceRef(site, report, 'rule', rule.name, 'interface', rule.interface);
    checkAddressRef(site, report, 'rule', rule.name, 'source', rule.source);
    checkAddressRef(site, report, 'rule', rule.name, 'destination', rule.destination);
    for (const port of rule.ports.filter((p) => ALIAS_NAME.test(p))) {
      const alias = site.aliases.find((a) => a.name === port);
      if (alias === undefined) {
        if (!report.isDeclared('alias', port)) report.error('rule', rule.name, 'port', `alias "${port}" does not exist`, aliasNames(site, ['port']));
      } else if (alias.type !== 'port') {
        report.error('rule', rule.name, 'port', `alias "${port}" is a ${alias.type} alias, not a port alias`, aliasNames(site, ['port']));
      }
    }
  }
}

// ---- outbound NAT -------------------------------------------------------------------

export function validateNat(site: Site, report: SiteReport): void {
  for (const nat of site.nat) {
    const ifaceOk = checkInterfaceRef(site, report, 'nat', nat.name, 'interface', nat.interface);
    const sourceOk = checkAddressRef(site, report, 'nat', nat.name, 'source', nat.source);
    checkAddressRef(site, report, 'nat', nat.name, 'destination', nat.destination);

    const vipName = nat.translate.slice('vip:'.length);
    const vip = site.vips.find((v) => v.name === vipName);
    if (checkVipRef(site, report, 'nat', nat.name, 'translate', vipName) && vip !== undefined && vip.interface !== nat.interface) {
      report.error('nat', nat.name, 'translate', `vip "${vipName}" is on ${vip.interface}, but this rule translates on ${nat.interface}`, vipsOn(site, nat.interface));
    }
    if (!ifaceOk || !sourceOk) continue;

    const source = resolveAddressRef(site, parseAddressRef(nat.source));
    if (source === 'any') continue; // refused by the parser already
    checkNatSourceAvoidsCluster(site, report, nat.name, nat.interface, source);
    if (vip !== undefined) {
      const vipFamily = parseCidr(vip.address).family;
      if (source.length > 0 && source.every((c) => c.family !== vipFamily)) {
        report.error('nat', nat.name, 'translate', `translating IPv${source[0]?.family ?? ''} sources to the IPv${vipFamily} vip "${vipName}"`, vipsOn(site, nat.interface));
      }
    }
  }
}

/**
 * Seeds (pfSense HA guide): "Never add outbound NAT rules that could match the
 * WAN/Public IP addresses of the cluster" -- they break the backup's own
 * outbound traffic. So the source may not cover a node's (or a VIP's) address
 * on the egress interface.
 */
function checkNatSourceAvoidsCluster(site: Site, report: SiteReport, natName: string, iface: string, source: Cidr[]): void {
  const clusterAddresses: { what: string; ip: Cidr }[] = [
    ...site.nodes.flatMap((n) => nodeCidrs(n, iface).map((ip) => ({ what: `${n.name}'s ${iface} address ${formatIP(ip)}`, ip }))),
    ...site.vips.filter((v) => v.interface === iface).map((v) => ({ what: `vip "${v.name}" ${formatIP(parseCidr(v.address))}`, ip: parseCidr(v.address) })),
  ];
  for (const net of source) {
    const hit = clusterAddresses.find((a) => cidrContains(net, a.ip));
    if (hit !== undefined) {
      report.error('nat', natName, 'source', `${formatCidr(net)} contains ${hit.what}; outbound NAT must never match the cluster's own addresses`, 'the inside networks only');
      return;
    }
  }
}

