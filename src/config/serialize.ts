/**
 * Writes a Site back as canonical INI, so the agent can store a config it
 * received over XML-RPC and parse it again with the same rules.
 *
 * Canonical means: sections in a fixed type order ([cluster], [sync], nodes,
 * gateways, vips, aliases, rules, nat, dhcp, dns, users); within a type sorted
 * by name, except rules and nat which keep their order (first match wins);
 * keys in a fixed order per type; every value spelled out (defaults included);
 * values escaped with ini.safe. parseSite(siteToIni(s)) deep-equals s.
 */
import ini from 'ini';
import { compareInterfaceNames } from './names.js';
import type { Site } from './types.js';

type Value = string | number | boolean | string[] | undefined;

export function siteToIni(site: Site): string {
  const blocks: string[] = [];
  const add = (header: string, entries: [string, Value][]) => blocks.push(formatSection(header, entries));
  const byName = <T extends { name: string }>(items: T[]) => [...items].sort((a, b) => compareText(a.name, b.name));

  const { cluster, sync } = site;
  add('[cluster]', [
    ['name', cluster.name],
    ['domain', cluster.domain],
    ['secondary_skew_offset', cluster.secondarySkewOffset],
    ['preempt', cluster.preempt],
  ]);
  add('[sync]', [
    ['interface', sync.interface],
    ['areas', sync.areas.length === 0 ? 'none' : sync.areas],
    ['state_sync', sync.stateSync],
    ['config_sync', sync.configSync],
    ['port', sync.port],
    ['username', sync.username],
    ['password', sync.password],
    ['tofu', sync.tofu === false ? false : undefined],
  ]);
  for (const node of byName(site.nodes)) {
    const ifaces = Object.keys(node.interfaces).sort(compareInterfaceNames);
    add(`[node "${node.name}"]`, [
      ['role', node.role],
      ['skew_offset', node.skewOffset],
      ['fingerprint', node.fingerprint],
      ...ifaces.map((i): [string, Value] => [i, node.interfaces[i]]),
    ]);
  }
  for (const gw of byName(site.gateways)) {
    add(`[gateway "${gw.name}"]`, [
      ['interface', gw.interface],
      ['address', gw.address],
      ['default', gw.isDefault],
      ['description', gw.description],
    ]);
  }
  for (const vip of byName(site.vips)) {
    const carp = vip.protocol === 'carp';
    add(`[vip "${vip.name}"]`, [
      ['interface', vip.interface],
      ['address', vip.address],
      ['vhid', vip.vhid],
      ['protocol', vip.protocol],
      ['advbase', carp ? vip.advbase : undefined],
      ['interval_ms', carp ? undefined : vip.intervalMs],
      ['advskew', vip.advskew],
      ['password', vip.password],
      ['unicast', vip.unicast || undefined],
      ['description', vip.description],
    ]);
  }
  for (const alias of byName(site.aliases)) {
    add(`[alias "${alias.name}"]`, [
      ['type', alias.type],
      ['members', alias.members],
      ['description', alias.description],
    ]);
  }
  for (const rule of site.rules) {
    add(`[rule "${rule.name}"]`, [
      ['interface', rule.interface],
      ['action', rule.action],
      ['protocol', rule.protocol],
      ['source', rule.source],
      ['destination', rule.destination],
      ['port', rule.ports.length === 0 ? undefined : rule.ports],
      ['log', rule.log],
      ['description', rule.description],
    ]);
  }
  for (const nat of site.nat) {
    add(`[nat "${nat.name}"]`, [
      ['type', nat.type],
      ['interface', nat.interface],
      ['source', nat.source],
      ['destination', nat.destination],
      ['translate', nat.translate],
      ['description', nat.description],
    ]);
  }
  for (const dhcp of byName(site.dhcp)) {
    add(`[dhcp "${dhcp.name}"]`, [
      ['interface', dhcp.interface],
      ['range', `${dhcp.range.first}-${dhcp.range.last}`],
      ['gateway', dhcp.gateway],
      ['dns', dhcp.dns.length === 0 ? undefined : dhcp.dns],
      ['lease_time', dhcp.leaseTime],
      ['domain', dhcp.domain],
    ]);
  }
  for (const dns of byName(site.dns)) {
    add(`[dns "${dns.name}"]`, [
      ['listen', dns.listen],
      ['forwarders', dns.forwarders.length === 0 ? undefined : dns.forwarders],
      ['domain', dns.domain],
    ]);
  }
  for (const user of byName(site.users)) {
    add(`[user "${user.name}"]`, [
      ['password_hash', user.passwordHash],
      ['ssh_keys', user.sshKeys.length === 0 ? undefined : user.sshKeys],
      ['admin', user.admin],
    ]);
  }
  return blocks.join('\n');
}

function formatSection(header: string, entries: [string, Value][]): string {
  const lines = [header];
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    lines.push(`${key} = ${formatValue(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatValue(value: Exclude<Value, undefined>): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map((v) => ini.safe(v)).join(', ');
  return ini.safe(value);
}

// Code-point order, so the output does not depend on the machine's locale.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
