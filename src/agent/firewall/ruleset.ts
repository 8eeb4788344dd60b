/**
 * The node's whole firewall as one nftables file, rendered from the site:
 * filter rules, aliases, the SYNC link's cluster rules, CARP/VRRP adverts,
 * outbound NAT to the WAN VIP, and inbound NAT (port forwards, 1:1) to VIPs.
 *
 * Atomic and safe to re-apply: `nft -f` runs a file as one transaction, and
 * the file declares `table inet carpenter` (a no-op when it exists), deletes
 * it and creates it anew. Either the whole new ruleset replaces the old one
 * or nothing changes; tables that are not carpenter's are never touched
 * (unlike `flush ruleset`).
 *
 * One `inet` table holds filter and NAT chains (inet NAT chains exist since
 * Linux 5.2): the alias sets serve both, IPv4 and IPv6 share one rule list,
 * and there is a single table to replace.
 *
 * Semantics, as on pfSense:
 *   - [rule] sections filter traffic *entering* their interface, whether it
 *     is for the firewall (input) or routed through it (forward); file order,
 *     first match wins; whatever no rule passes is dropped (default deny on
 *     every interface, WAN included).
 *   - Established and related traffic is accepted before any rule; invalid
 *     traffic is dropped.
 *   - Pass rules do not require a SYN: with nf_conntrack_tcp_loose=1 a TCP
 *     connection picked up mid-stream (a failover without synced state) is
 *     "ct state new" and passes the same rule that passed its SYN.
 *   - The sync interface carries only what the cluster needs between the
 *     nodes' SYNC addresses (conntrackd, XML-RPC, CARP/VRRP, ping), both
 *     directions, generated here; [rule] sections on it are not rendered.
 *   - Rules match an interface as its device set: the port plus its VIP
 *     macvlans (see devices.ts).
 */
import { compareInterfaceNames } from '../../config/names.js';
import { cidrContains, formatIP, parseCidr, parseIP, type Cidr } from '../../config/net.js';
import { parseAddressRef, resolveAddressRef, resolvePorts, type AddressRef } from '../../config/refs.js';
import type { NodeDef, RuleDef, Site } from '../../config/types.js';
import { stateSyncTransport, type StateSyncOptions, type StateSyncTransport } from '../statesync/transport.js';
import { interfaceDevices, vipDeviceName, type InterfaceDevices, type VipDeviceNamer } from './devices.js';
import { resolveForward, resolveOneToOne, type OneToOneNatDef, type PortForwardDef, type ResolvedForward, type ResolvedOneToOne } from './forwards.js';
import { collapseCidrs, collapsePorts, comment, elements, formatCidrs, hasNetworks, hasRanges, l3, natTarget, quote } from './nft.js';

export const TABLE = 'carpenter';

/** Kea's control agent port, which the HA hook's peers talk to (kea-ctrl-agent default). */
export const DEFAULT_DHCP_HA_PORT = 8000;

export interface RulesetOptions {
  /** Same object as given to renderConntrackdConf, so the SYNC rules match conntrackd. */
  stateSync?: StateSyncOptions;
  /** How carpd names a VIP's macvlan. Default `<IFACE>.vh<vhid>`. */
  vipDevice?: VipDeviceNamer;
  /** Port forwards to VIPs (proposed [nat] type = forward), file order. */
  portForwards?: PortForwardDef[];
  /** 1:1 NAT on VIPs (proposed [nat] type = binat), file order. */
  oneToOne?: OneToOneNatDef[];
  /** TCP port the Kea HA peers reach each other on (on the DHCP interface). Default 8000. */
  dhcpHaPort?: number;
  /** Log what the default-deny rules drop. Default no. */
  logDefaultDeny?: boolean;
}

const ND_TYPES = 'nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert';
const MLD_TYPES = 'mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report';
const VRRP_V4_GROUP = '224.0.0.18';
const VRRP_V6_GROUP = 'ff02::12';
const FAMILIES: readonly (4 | 6)[] = [4, 6];

type Line = string;

class Writer {
  readonly lines: Line[] = [];
  line(depth: number, text = ''): void {
    this.lines.push(text === '' ? '' : `${'\t'.repeat(depth)}${text}`);
  }
  text(): string {
    // No trailing blank lines inside blocks; exactly one newline at the end.
    return `${this.lines.join('\n').replace(/\n+(\t*})/g, '\n$1')}\n`;
  }
}

interface Ctx {
  site: Site;
  node: NodeDef;
  opts: RulesetOptions;
  interfaces: InterfaceDevices[];
  ifaceVar: Map<string, string>;
  /** Alias name -> family -> resolved networks. */
  aliasCidrs: Map<string, Record<4 | 6, Cidr[]>>;
  self: Record<4 | 6, Cidr[]>;
  transport?: StateSyncTransport;
}

function setName(alias: string, family: 4 | 6): string {
  return `${alias}-v${family}`;
}

const SELF_SET = (family: 4 | 6) => `cpt-self-v${family}`;

function byFamily(cidrs: Cidr[]): Record<4 | 6, Cidr[]> {
  return { 4: collapseCidrs(cidrs.filter((c) => c.family === 4)), 6: collapseCidrs(cidrs.filter((c) => c.family === 6)) };
}

function nodeAddresses(node: NodeDef, iface: string, family: 4 | 6): Cidr[] {
  return (node.interfaces[iface] ?? []).map(parseCidr).filter((c) => c.family === family);
}

function hosts(cidrs: Cidr[]): string[] {
  return cidrs.map((c) => formatIP(c));
}

/**
 * The nft match for an address expression in one family: '' for any, null
 * when the expression holds no address of that family (the rule cannot match).
 */
function addressMatch(ctx: Ctx, dir: 'saddr' | 'daddr', text: string, family: 4 | 6): string | null {
  const ref: AddressRef = parseAddressRef(text);
  if (ref.kind === 'any') return '';
  if (ref.kind === 'alias') {
    const cidrs = ctx.aliasCidrs.get(ref.name)?.[family] ?? [];
    return cidrs.length === 0 ? null : `${l3(family)} ${dir} @${setName(ref.name, family)}`;
  }
  if (ref.kind === 'self') return ctx.self[family].length === 0 ? null : `${l3(family)} ${dir} @${SELF_SET(family)}`;
  const resolved = resolveAddressRef(ctx.site, ref, ctx.node.name);
  if (resolved === 'any') return '';
  const list = resolved.filter((c) => c.family === family);
  return list.length === 0 ? null : `${l3(family)} ${dir} ${elements(formatCidrs(list))}`;
}

function portMatch(ctx: Ctx, ports: readonly string[]): string {
  const only = ports[0];
  if (ports.length === 1 && only !== undefined && /^[A-Za-z_]/.test(only)) return `@${only}`;
  return elements(collapsePorts(resolvePorts(ctx.site, ports)));
}

/** Protocol/port match and verdict pairs for a rule (reject splits TCP from the rest). */
function protocolVariants(ctx: Ctx, rule: RuleDef): { match: string; verdict: string }[] {
  const ports = rule.ports.length > 0 ? portMatch(ctx, rule.ports) : undefined;
  const tcpReset = 'reject with tcp reset';
  const unreachable = 'reject with icmpx type port-unreachable';
  const plain = rule.action === 'pass' ? 'accept' : rule.action === 'block' ? 'drop' : unreachable;
  const proto = (p: 'tcp' | 'udp') => (ports === undefined ? `meta l4proto ${p}` : `${p} dport ${ports}`);
  switch (rule.protocol) {
    case 'any':
      return rule.action === 'reject' ? [{ match: 'meta l4proto tcp', verdict: tcpReset }, { match: '', verdict: unreachable }] : [{ match: '', verdict: plain }];
    case 'tcp':
      return [{ match: proto('tcp'), verdict: rule.action === 'reject' ? tcpReset : plain }];
    case 'udp':
      return [{ match: proto('udp'), verdict: plain }];
    case 'tcp/udp':
      if (rule.action === 'reject') return [{ match: proto('tcp'), verdict: tcpReset }, { match: proto('udp'), verdict: unreachable }];
      return [{ match: ports === undefined ? 'meta l4proto { tcp, udp }' : `meta l4proto { tcp, udp } th dport ${ports}`, verdict: plain }];
    case 'icmp':
      return [{ match: 'meta l4proto icmp', verdict: plain }];
    case 'icmpv6':
      return [{ match: 'meta l4proto ipv6-icmp', verdict: plain }];
  }
}

function ruleFamilies(rule: RuleDef): readonly (4 | 6)[] {
  return rule.protocol === 'icmp' ? [4] : rule.protocol === 'icmpv6' ? [6] : FAMILIES;
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join(' ');
}

function ruleComment(rule: RuleDef): string {
  return comment(rule.description === undefined ? `rule ${rule.name}` : `rule ${rule.name}: ${rule.description}`);
}

/** The nft lines of one [rule], or a comment saying why it cannot match. */
function renderRule(ctx: Ctx, rule: RuleDef): string[] {
  const log = rule.log ? `log prefix ${quote(`[${rule.action} ${rule.name}] `, 60)}` : undefined;
  const variants = protocolVariants(ctx, rule);
  const out: string[] = [];
  const familyFree = rule.source === 'any' && rule.destination === 'any';
  const families: readonly (4 | 6 | undefined)[] = familyFree && rule.protocol !== 'icmp' && rule.protocol !== 'icmpv6' ? [undefined] : ruleFamilies(rule);
  for (const family of families) {
    let src = '';
    let dst = '';
    if (family !== undefined) {
      const s = addressMatch(ctx, 'saddr', rule.source, family);
      const d = addressMatch(ctx, 'daddr', rule.destination, family);
      if (s === null || d === null) continue;
      [src, dst] = [s, d];
    }
    for (const v of variants) out.push(join(src, dst, v.match, 'counter', log, v.verdict, ruleComment(rule)));
  }
  if (out.length === 0) {
    out.push(`# [rule "${rule.name}"] never matches here: source ${rule.source} and destination ${rule.destination} share no address family with protocol ${rule.protocol}`);
  }
  return out;
}

function ifaceMatch(ctx: Ctx, dir: 'iifname' | 'oifname', iface: string): string {
  const v = ctx.ifaceVar.get(iface);
  if (v === undefined) throw new Error(`interface ${iface} is not defined on node ${ctx.node.name}`);
  return `${dir} $${v}`;
}

// ---- sections ---------------------------------------------------------------------

function renderHeader(w: Writer, ctx: Ctx): void {
  const { site, node } = ctx;
  w.line(0, '#!/usr/sbin/nft -f');
  w.line(0, `# carpenter firewall for node ${node.name} (${node.role}) of cluster ${site.cluster.name}.`);
  w.line(0, '# Generated from the site file; do not edit. `nft -f` applies the whole file as one');
  w.line(0, '# transaction: the new ruleset replaces the old one completely, or nothing changes.');
  w.line(0, '#');
  w.line(0, '# Interfaces (a rule on an interface matches the port and its VIP macvlans):');
  for (const i of ctx.interfaces) {
    const vips = i.devices.slice(1).map((d) => `${d} (${i.vipOf[d] ?? ''})`);
    w.line(0, `#   ${i.name.padEnd(5)} ${[i.name, ...vips].join(', ')}${i.name === site.sync.interface ? '   <- sync link' : ''}`);
  }
  const t = ctx.transport;
  if (t !== undefined) {
    const peers = t.peers.map((p) => `${p.name} ${p.address}`).join(', ');
    w.line(0, `# State sync: conntrackd FTFW over ${t.kind === 'udp' ? 'unicast UDP' : `multicast ${t.group ?? ''}`}, port ${t.port}: ${t.local} <-> ${peers}.`);
  } else {
    w.line(0, '# State sync: off.');
  }
  w.line(0, site.sync.configSync ? `# Config sync: XML-RPC over HTTPS, TCP port ${site.sync.port}, between the SYNC addresses.` : '# Config sync: off.');
  w.line(0);
  for (const i of ctx.interfaces) {
    w.line(0, `define ${ctx.ifaceVar.get(i.name) ?? ''} = { ${i.devices.map((d) => quote(d)).join(', ')} }`);
  }
  w.line(0);
  w.line(0, `# Replace carpenter's table only: declare it (no-op if present), delete it, create it anew.`);
  w.line(0, `table inet ${TABLE}`);
  w.line(0, `delete table inet ${TABLE}`);
  w.line(0);
}

function renderSets(w: Writer, ctx: Ctx): void {
  const set = (name: string, type: string, items: string[], interval: boolean, note: string) => {
    w.line(1, `# ${note}`);
    w.line(1, `set ${name} {`);
    w.line(2, `type ${type}`);
    if (interval) {
      w.line(2, 'flags interval');
      w.line(2, 'auto-merge');
    }
    w.line(2, `elements = { ${items.join(', ')} }`);
    w.line(1, '}');
  };
  for (const family of FAMILIES) {
    const self = ctx.self[family];
    if (self.length > 0) set(SELF_SET(family), family === 4 ? 'ipv4_addr' : 'ipv6_addr', hosts(self), false, `self: ${ctx.node.name}'s own addresses and the VIPs (IPv${family})`);
  }
  for (const alias of ctx.site.aliases) {
    if (alias.type === 'port') {
      const ports = collapsePorts(resolvePorts(ctx.site, [alias.name]));
      if (ports.length > 0) set(alias.name, 'inet_service', ports, hasRanges(ports), `alias ${alias.name} (port)${alias.description === undefined ? '' : `: ${alias.description}`}`);
      continue;
    }
    const cidrs = ctx.aliasCidrs.get(alias.name);
    for (const family of FAMILIES) {
      const list = cidrs?.[family] ?? [];
      if (list.length === 0) continue;
      set(
        setName(alias.name, family),
        family === 4 ? 'ipv4_addr' : 'ipv6_addr',
        formatCidrs(list),
        hasNetworks(list),
        `alias ${alias.name} (${alias.type}), its IPv${family} members${alias.description === undefined ? '' : `: ${alias.description}`}`,
      );
    }
  }
}

function renderInput(w: Writer, ctx: Ctx): void {
  const { site } = ctx;
  w.line(1, 'chain input {');
  w.line(2, 'type filter hook input priority filter; policy drop;');
  w.line(2, 'iif "lo" accept');
  w.line(2, 'ct state established,related accept');
  w.line(2, 'ct state invalid drop');
  w.line(2, `meta l4proto ipv6-icmp icmpv6 type { ${ND_TYPES} } ip6 hoplimit 255 accept ${comment('IPv6 neighbour discovery')}`);
  w.line(2, `meta l4proto ipv6-icmp icmpv6 type { ${MLD_TYPES} } ip6 saddr fe80::/10 accept ${comment('multicast listener discovery')}`);
  w.line(2, `${ifaceMatch(ctx, 'iifname', site.sync.interface)} jump sync_in`);
  for (const family of FAMILIES) {
    const own = nodeAddresses(ctx.node, site.sync.interface, family);
    if (own.length > 0) w.line(2, `${l3(family)} daddr ${elements(hosts(own))} counter drop ${comment('the sync endpoints answer on the sync link only')}`);
  }
  if (site.vips.length > 0) w.line(2, 'meta l4proto 112 jump vrrp_in');
  if (site.dhcp.length > 0) w.line(2, 'jump services_in');
  for (const i of ctx.interfaces) {
    if (i.name !== site.sync.interface) w.line(2, `${ifaceMatch(ctx, 'iifname', i.name)} jump from_${i.name}`);
  }
  w.line(2, '# anything else: policy drop');
  w.line(1, '}');
  w.line(0);
}

function renderForward(w: Writer, ctx: Ctx, forwards: ResolvedForward[]): void {
  const { site } = ctx;
  w.line(1, 'chain forward {');
  w.line(2, 'type filter hook forward priority filter; policy drop;');
  w.line(2, 'ct state established,related accept');
  w.line(2, 'ct state invalid drop');
  w.line(2, `${ifaceMatch(ctx, 'iifname', site.sync.interface)} counter drop ${comment('nothing is routed from the sync link')}`);
  w.line(2, `${ifaceMatch(ctx, 'oifname', site.sync.interface)} counter drop ${comment('nothing is routed to the sync link')}`);
  for (const f of forwards.filter((x) => x.def.filterRule)) {
    const port = f.def.targetPort !== undefined ? String(f.def.targetPort) : f.portAlias !== undefined ? `@${f.portAlias}` : elements(f.ports);
    const src = f.source === 'any' ? '' : `${l3(f.family)} saddr ${elements(formatCidrs(f.source.filter((c) => c.family === f.family)))}`;
    const proto = f.def.protocol === 'tcp/udp' ? `meta l4proto { tcp, udp } th dport ${port}` : `${f.def.protocol} dport ${port}`;
    w.line(2, join(ifaceMatch(ctx, 'iifname', f.def.interface), src, `${l3(f.family)} daddr ${formatIP(f.target)}`, proto, 'ct status dnat counter accept', comment(`forward ${f.def.name}: associated filter rule`)));
  }
  for (const i of ctx.interfaces) {
    if (i.name !== site.sync.interface) w.line(2, `${ifaceMatch(ctx, 'iifname', i.name)} jump from_${i.name}`);
  }
  w.line(2, '# anything else: policy drop');
  w.line(1, '}');
  w.line(0);
}

function renderOutput(w: Writer, ctx: Ctx): void {
  w.line(1, 'chain output {');
  w.line(2, 'type filter hook output priority filter; policy accept;');
  w.line(2, `${ifaceMatch(ctx, 'oifname', ctx.site.sync.interface)} jump sync_out`);
  w.line(1, '}');
  w.line(0);
}

/** Address pairs (ours, a peer's) on the sync interface, per family both have. */
function syncPairs(ctx: Ctx): { family: 4 | 6; peer: string; local: string; remote: string }[] {
  const pairs: { family: 4 | 6; peer: string; local: string; remote: string }[] = [];
  for (const peer of ctx.site.nodes.filter((n) => n !== ctx.node)) {
    for (const family of FAMILIES) {
      const local = nodeAddresses(ctx.node, ctx.site.sync.interface, family)[0];
      if (local === undefined) continue;
      for (const remote of nodeAddresses(peer, ctx.site.sync.interface, family)) {
        pairs.push({ family, peer: peer.name, local: formatIP(local), remote: formatIP(remote) });
      }
    }
  }
  return pairs;
}

function renderSync(w: Writer, ctx: Ctx): void {
  const { site } = ctx;
  const t = ctx.transport;
  const pairs = syncPairs(ctx);
  const ignored = site.rules.filter((r) => r.interface === site.sync.interface);

  w.line(1, '# The sync link: exactly what the cluster needs between the nodes\' SYNC addresses, nothing else');
  w.line(1, '# (state sync has no authentication of its own; it must stay on this link).');
  for (const r of ignored) {
    w.line(1, `# [rule "${r.name}"] (${r.action} from ${r.source} to ${r.destination}) is not rendered: the sync link carries only these rules.`);
  }
  w.line(1, 'chain sync_in {');
  if (t !== undefined) {
    for (const p of t.peers) {
      const dst = t.kind === 'udp' ? t.local : t.group ?? '';
      w.line(2, `${l3(t.family)} saddr ${p.address} ${l3(t.family)} daddr ${dst} udp dport ${t.port} accept ${comment(`conntrackd FTFW state sync from ${p.name}`)}`);
    }
    if (t.kind === 'multicast') w.line(2, `meta l4proto igmp accept ${comment('IGMP, so the switch keeps forwarding the sync group')}`);
  }
  if (site.sync.configSync) {
    for (const p of pairs) w.line(2, `${l3(p.family)} saddr ${p.remote} ${l3(p.family)} daddr ${p.local} tcp dport ${site.sync.port} accept ${comment(`XML-RPC config sync from ${p.peer}`)}`);
  }
  for (const p of pairs) {
    const ttl = p.family === 4 ? 'ip ttl 255' : 'ip6 hoplimit 255';
    w.line(2, `${l3(p.family)} saddr ${p.remote} meta l4proto 112 ${ttl} accept ${comment(`CARP/VRRP from ${p.peer}`)}`);
  }
  for (const p of pairs) {
    const echo = p.family === 4 ? 'icmp type echo-request' : 'icmpv6 type echo-request';
    w.line(2, `${l3(p.family)} saddr ${p.remote} ${l3(p.family)} daddr ${p.local} ${echo} accept ${comment(`ping from ${p.peer} (link check)`)}`);
  }
  w.line(2, `counter${ctx.opts.logDefaultDeny ? ` log prefix ${quote('[block default sync] ')}` : ''} drop ${comment('nothing else enters on the sync link')}`);
  w.line(1, '}');
  w.line(0);

  w.line(1, 'chain sync_out {');
  w.line(2, 'ct state established,related accept');
  if (t !== undefined) {
    for (const p of t.peers) {
      if (t.kind === 'udp') {
        w.line(2, `${l3(t.family)} saddr ${t.local} ${l3(t.family)} daddr ${p.address} udp dport ${t.port} accept ${comment(`conntrackd FTFW state sync to ${p.name}`)}`);
      }
    }
    if (t.kind === 'multicast') {
      w.line(2, `ip saddr ${t.local} ip daddr ${t.group ?? ''} udp dport ${t.port} accept ${comment('conntrackd FTFW state sync to the group')}`);
      w.line(2, `meta l4proto igmp accept ${comment('IGMP membership reports')}`);
    }
  }
  if (site.sync.configSync) {
    for (const p of pairs) w.line(2, `${l3(p.family)} saddr ${p.local} ${l3(p.family)} daddr ${p.remote} tcp dport ${site.sync.port} accept ${comment(`XML-RPC config sync to ${p.peer}`)}`);
  }
  w.line(2, `meta l4proto 112 accept ${comment('CARP/VRRP adverts')}`);
  for (const p of pairs) {
    const echo = p.family === 4 ? 'icmp type echo-request' : 'icmpv6 type echo-request';
    w.line(2, `${l3(p.family)} daddr ${p.remote} ${echo} accept ${comment(`ping ${p.peer} (link check)`)}`);
  }
  // Link plumbing, not a service: the kernel sends ND and MLD on every IPv6-enabled link.
  w.line(2, `meta l4proto ipv6-icmp icmpv6 type { ${ND_TYPES}, mld-listener-report, mld2-listener-report } accept ${comment('IPv6 neighbour discovery')}`);
  w.line(2, `counter drop ${comment('nothing else leaves on the sync link')}`);
  w.line(1, '}');
  w.line(0);
}

function renderVrrp(w: Writer, ctx: Ctx): void {
  const { site } = ctx;
  if (site.vips.length === 0) return;
  w.line(1, '# CARP and VRRPv3 adverts (IP protocol 112, TTL / hop limit 255) on the interfaces carrying VIPs:');
  w.line(1, '# multicast from anyone on the segment (the HMAC or the election decides), unicast from the peers.');
  w.line(1, 'chain vrrp_in {');
  const ifaces = [...new Set(site.vips.map((v) => v.interface))].sort(compareInterfaceNames);
  for (const iface of ifaces) {
    const vips = site.vips.filter((v) => v.interface === iface);
    for (const family of FAMILIES) {
      const names = vips.filter((v) => parseCidr(v.address).family === family).map((v) => v.name).join(', ');
      if (names === '') continue;
      const ttl = family === 4 ? 'ip ttl 255' : 'ip6 hoplimit 255';
      const group = family === 4 ? VRRP_V4_GROUP : VRRP_V6_GROUP;
      w.line(2, `${ifaceMatch(ctx, 'iifname', iface)} ${l3(family)} daddr ${group} ${ttl} accept ${comment(`adverts on ${iface} (vip ${names})`)}`);
      const peers = site.nodes.filter((n) => n !== ctx.node).flatMap((n) => nodeAddresses(n, iface, family));
      if (peers.length > 0) {
        w.line(2, `${ifaceMatch(ctx, 'iifname', iface)} ${l3(family)} saddr ${elements(hosts(peers))} ${ttl} accept ${comment(`unicast adverts from the peers on ${iface}`)}`);
      }
    }
  }
  w.line(2, `counter drop ${comment('adverts anywhere else')}`);
  w.line(1, '}');
  w.line(0);
}

function renderServices(w: Writer, ctx: Ctx): void {
  const { site, node } = ctx;
  if (site.dhcp.length === 0) return;
  const haPort = ctx.opts.dhcpHaPort ?? DEFAULT_DHCP_HA_PORT;
  w.line(1, '# Services the site turns on (pfSense adds these rules automatically too).');
  w.line(1, 'chain services_in {');
  for (const d of site.dhcp) {
    const inSubnet = (n: NodeDef) => nodeAddresses(n, d.interface, 4).filter((c) => cidrContains(c, parseIP(d.range.first)));
    w.line(2, `${ifaceMatch(ctx, 'iifname', d.interface)} udp dport 67 accept ${comment(`DHCP server (dhcp ${d.name})`)}`);
    const own = inSubnet(node);
    const peers = site.nodes.filter((n) => n !== node).flatMap(inSubnet);
    if (own.length > 0 && peers.length > 0) {
      w.line(2, `${ifaceMatch(ctx, 'iifname', d.interface)} ip saddr ${elements(hosts(peers))} ip daddr ${elements(hosts(own))} tcp dport ${haPort} accept ${comment(`Kea HA peers (dhcp ${d.name})`)}`);
    }
  }
  w.line(1, '}');
  w.line(0);
}

function renderInterfaceChains(w: Writer, ctx: Ctx): void {
  const { site } = ctx;
  for (const i of ctx.interfaces) {
    if (i.name === site.sync.interface) continue;
    const rules = site.rules.filter((r) => r.interface === i.name);
    w.line(1, `# [rule] sections on ${i.name}, in file order; first match wins. Entered from input and forward.`);
    w.line(1, `chain from_${i.name} {`);
    for (const rule of rules) for (const l of renderRule(ctx, rule)) w.line(2, l);
    const log = ctx.opts.logDefaultDeny ? ` log prefix ${quote(`[block default ${i.name}] `)}` : '';
    w.line(2, `counter${log} drop ${comment(`default deny on ${i.name}`)}`);
    w.line(1, '}');
    w.line(0);
  }
}

function renderNat(w: Writer, ctx: Ctx, forwards: ResolvedForward[], binat: ResolvedOneToOne[]): void {
  const { site } = ctx;
  w.line(1, '# Inbound NAT to VIPs: port forwards first (more specific), then 1:1.');
  w.line(1, 'chain dstnat {');
  w.line(2, 'type nat hook prerouting priority dstnat; policy accept;');
  for (const f of forwards) {
    const v = l3(f.family);
    const src = f.source === 'any' ? '' : `${v} saddr ${elements(formatCidrs(f.source.filter((c) => c.family === f.family)))}`;
    const ports = f.portAlias !== undefined ? `@${f.portAlias}` : elements(f.ports);
    const proto = f.def.protocol === 'tcp/udp' ? `meta l4proto { tcp, udp } th dport ${ports}` : `${f.def.protocol} dport ${ports}`;
    const to = natTarget(f.target, f.def.targetPort === undefined ? undefined : String(f.def.targetPort));
    w.line(2, join(ifaceMatch(ctx, 'iifname', f.def.interface), src, `${v} daddr ${formatIP(f.public)}`, proto, `dnat ${v} to ${to}`, comment(`forward ${f.def.name}${f.def.description === undefined ? '' : `: ${f.def.description}`}`)));
  }
  for (const b of binat) {
    const v = l3(b.family);
    w.line(2, `${ifaceMatch(ctx, 'iifname', b.def.interface)} ${v} daddr ${formatIP(b.external)} dnat ${v} to ${formatIP(b.internal)} ${comment(`1:1 ${b.def.name}`)}`);
  }
  w.line(1, '}');
  w.line(0);
  w.line(1, '# Outbound NAT: 1:1 hosts first, then the [nat] sections in file order, each to its VIP,');
  w.line(1, '# so clients keep their public address across a failover.');
  w.line(1, 'chain srcnat {');
  w.line(2, 'type nat hook postrouting priority srcnat; policy accept;');
  for (const b of binat) {
    const v = l3(b.family);
    w.line(2, `${ifaceMatch(ctx, 'oifname', b.def.interface)} ${v} saddr ${formatIP(b.internal)} snat ${v} to ${formatIP(b.external)} ${comment(`1:1 ${b.def.name}`)}`);
  }
  for (const nat of site.nat) {
    const vip = site.vips.find((v) => `vip:${v.name}` === nat.translate);
    if (vip === undefined) {
      w.line(2, `# [nat "${nat.name}"]: ${nat.translate} does not exist`);
      continue;
    }
    const to = parseCidr(vip.address);
    const src = addressMatch(ctx, 'saddr', nat.source, to.family);
    const dst = addressMatch(ctx, 'daddr', nat.destination, to.family);
    if (src === null || src === '' || dst === null) {
      w.line(2, `# [nat "${nat.name}"] never matches here: no IPv${to.family} source/destination for vip ${vip.name}`);
      continue;
    }
    const v = l3(to.family);
    w.line(2, join(ifaceMatch(ctx, 'oifname', nat.interface), src, dst, `snat ${v} to ${formatIP(to)}`, comment(`nat ${nat.name}${nat.description === undefined ? '' : `: ${nat.description}`}`)));
  }
  w.line(1, '}');
}

/** The node's complete nftables ruleset (text for `nft -f`). Deterministic. */
export function renderRuleset(site: Site, nodeName: string, opts: RulesetOptions = {}): string {
  const node = site.nodes.find((n) => n.name === nodeName);
  if (node === undefined) throw new Error(`no node "${nodeName}" in site ${site.cluster.name} (nodes: ${site.nodes.map((n) => n.name).join(', ')})`);
  const ifaceNames = [...new Set([...Object.keys(node.interfaces), site.sync.interface])].sort(compareInterfaceNames);
  const interfaces = ifaceNames.map((i) => interfaceDevices(site, i, opts.vipDevice ?? vipDeviceName));
  const aliasCidrs = new Map<string, Record<4 | 6, Cidr[]>>();
  for (const alias of site.aliases.filter((a) => a.type !== 'port')) {
    const r = resolveAddressRef(site, { kind: 'alias', name: alias.name }, nodeName);
    aliasCidrs.set(alias.name, byFamily(r === 'any' ? [] : r));
  }
  const self = resolveAddressRef(site, { kind: 'self' }, nodeName);
  const ctx: Ctx = {
    site,
    node,
    opts,
    interfaces,
    ifaceVar: new Map(interfaces.map((i) => [i.name, `if_${i.name}`])),
    aliasCidrs,
    self: byFamily(self === 'any' ? [] : self),
  };
  if (site.sync.stateSync) ctx.transport = stateSyncTransport(site, nodeName, opts.stateSync);
  const forwards = (opts.portForwards ?? []).map((f) => resolveForward(site, nodeName, f));
  const binat = (opts.oneToOne ?? []).map((b) => resolveOneToOne(site, b));

  const w = new Writer();
  renderHeader(w, ctx);
  w.line(0, `table inet ${TABLE} {`);
  renderSets(w, ctx);
  w.line(0);
  renderInput(w, ctx);
  renderForward(w, ctx, forwards);
  renderOutput(w, ctx);
  renderSync(w, ctx);
  renderVrrp(w, ctx);
  renderServices(w, ctx);
  renderInterfaceChains(w, ctx);
  renderNat(w, ctx, forwards, binat);
  w.line(0, '}');
  return w.text();
}

