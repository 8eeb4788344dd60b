/**
 * The view of a site from one node, as plain JSON for mustache templates
 * (overlay/*.mustache) and for carpd's own configuration.
 *
 * Mustache can only walk objects, iterate arrays and test truthiness, so
 * everything a template needs is precomputed here: split addresses, effective
 * skews, VRRP priorities, virtual MACs, and booleans such as isPrimary.
 */
import { compareInterfaceNames } from './names.js';
import { formatCidr, formatIP, netmaskOf, networkOf, parseCidr, parseIP, type Cidr } from './net.js';
import { formatNetworkOrHost, parseAddressRef, resolveAddressRef, resolvePorts } from './refs.js';
import { advertIntervalMs, effectiveSkew, nodeSkewOffset, virtualMac, vrrpPriority } from './skew.js';
import { SYNC_AREAS, type NodeDef, type Site, type VipDef } from './types.js';

/** One address of an interface, split for templates. */
export interface AddressContext {
  /** "203.0.113.2" */
  address: string;
  /** 24 */
  prefix: number;
  family: 4 | 6;
  isV4: boolean;
  isV6: boolean;
  /** "203.0.113.2/24" */
  cidr: string;
  /** "203.0.113.0/24" */
  network: string;
  /** "203.0.113.0" */
  networkAddress: string;
  /** "255.255.255.0" for IPv4, undefined for IPv6. */
  netmask?: string;
}

export interface InterfaceContext {
  /** WAN, LAN, SYNC, OPTn */
  name: string;
  /** Lower-case name, handy for device names and file names. */
  lowerName: string;
  addresses: AddressContext[];
  ipv4: AddressContext[];
  ipv6: AddressContext[];
  hasV4: boolean;
  hasV6: boolean;
  isSync: boolean;
}

export interface VipContext {
  name: string;
  interface: string;
  description?: string;
  address: string;
  prefix: number;
  family: 4 | 6;
  isV4: boolean;
  isV6: boolean;
  cidr: string;
  network: string;
  vhid: number;
  /** vhid as two hex digits, as in the virtual MAC. */
  vhidHex: string;
  protocol: 'carp' | 'vrrp3';
  isCarp: boolean;
  isVrrp: boolean;
  advbase: number;
  /** The advskew written in the site (the primary's). */
  baseSkew: number;
  /** This node's skew: advskew + the node's offset. */
  skew: number;
  /** VRRPv3 priority standing for the skew (254 - skew). */
  vrrpPriority: number;
  /** Advertisement interval in ms (advbase * 1000 for CARP). */
  intervalMs: number;
  /** VRRPv3 interval in centiseconds, as on the wire. */
  intervalCs: number;
  mac: string;
  password?: string;
}

export interface PeerContext {
  name: string;
  role: string;
  isPrimary: boolean;
  /** The peer's first address on the sync interface (IPv4 preferred). */
  syncAddress: string;
  syncAddresses: string[];
}

/** What every mustache template receives. `extra` keys are merged at the top level. */
export interface NodeContext {
  cluster: { name: string; domain?: string; preempt: boolean; secondarySkewOffset: number; nodeCount: number };
  node: {
    name: string;
    role: string;
    hostname: string;
    fqdn: string;
    isPrimary: boolean;
    isSecondary: boolean;
    skewOffset: number;
    interfaces: InterfaceContext[];
    interfacesByName: Record<string, InterfaceContext>;
  };
  isPrimary: boolean;
  isSecondary: boolean;
  peers: PeerContext[];
  vips: VipContext[];
  hasVips: boolean;
  sync: {
    interface: string;
    areas: string[];
    /** areaFlags.rules etc.: true when that area is synced. */
    areaFlags: Record<string, boolean>;
    stateSync: boolean;
    configSync: boolean;
    port: number;
    username: string;
    password?: string;
    /** This node's sync address (IPv4 preferred). */
    localAddress: string;
    peerAddresses: string[];
    /** Config sync flows primary -> secondaries; true on the node that pushes. */
    pushes: boolean;
  };
  gateways: { name: string; interface: string; address: string; family: 4 | 6; isV4: boolean; isV6: boolean; isDefault: boolean }[];
  aliases: { name: string; type: string; members: string[]; isPort: boolean; resolved: string[] }[];
  rules: {
    name: string;
    interface: string;
    action: string;
    protocol: string;
    source: string;
    destination: string;
    sourceAddresses: string[];
    destinationAddresses: string[];
    sourceIsAny: boolean;
    destinationIsAny: boolean;
    ports: string[];
    hasPorts: boolean;
    log: boolean;
    description?: string;
    isPass: boolean;
    isBlock: boolean;
    isReject: boolean;
  }[];
  nat: { name: string; interface: string; source: string; sourceAddresses: string[]; destination: string; destinationAddresses: string[]; destinationIsAny: boolean; vip: string; translateAddress: string; family: 4 | 6 }[];
  dhcp: {
    name: string;
    interface: string;
    rangeFirst: string;
    rangeLast: string;
    gateway: string;
    dns: string[];
    leaseTime: number;
    domain?: string;
    subnet: string;
    /** Kea HA peers: every node's address on the served interface. */
    peers: { name: string; address: string; role: string; isSelf: boolean }[];
  }[];
  dns: { name: string; listen: string[]; listenAddresses: string[]; forwarders: string[]; hasForwarders: boolean; domain?: string }[];
  users: { name: string; passwordHash: string; sshKeys: string[]; admin: boolean }[];
  [extra: string]: unknown;
}

export function nodeContext(site: Site, nodeName: string, extra: Record<string, unknown> = {}): NodeContext {
  const node = site.nodes.find((n) => n.name === nodeName);
  if (node === undefined) {
    throw new Error(`no node "${nodeName}" in site ${site.cluster.name} (nodes: ${site.nodes.map((n) => n.name).join(', ')})`);
  }
  const interfaces = Object.keys(node.interfaces).sort(compareInterfaceNames).map((name) => interfaceContext(site, node, name));
  const isPrimary = node.role === 'primary';
  const peers = site.nodes.filter((n) => n !== node).map((n) => peerContext(site, n));
  const resolve = (expr: string) => resolveAddressRef(site, parseAddressRef(expr), nodeName);
  const addressList = (expr: string) => {
    const r = resolve(expr);
    return r === 'any' ? [] : r.map(formatNetworkOrHost);
  };

  return {
    cluster: {
      name: site.cluster.name,
      ...(site.cluster.domain === undefined ? {} : { domain: site.cluster.domain }),
      preempt: site.cluster.preempt,
      secondarySkewOffset: site.cluster.secondarySkewOffset,
      nodeCount: site.nodes.length,
    },
    node: {
      name: node.name,
      role: node.role,
      hostname: node.name,
      fqdn: site.cluster.domain === undefined ? node.name : `${node.name}.${site.cluster.domain}`,
      isPrimary,
      isSecondary: !isPrimary,
      skewOffset: nodeSkewOffset(site, node),
      interfaces,
      interfacesByName: Object.fromEntries(interfaces.map((i) => [i.name, i])),
    },
    isPrimary,
    isSecondary: !isPrimary,
    peers,
    vips: site.vips.map((v) => vipContext(site, v, nodeName)),
    hasVips: site.vips.length > 0,
    sync: {
      interface: site.sync.interface,
      areas: [...site.sync.areas],
      areaFlags: Object.fromEntries(SYNC_AREAS.map((a) => [a, site.sync.areas.includes(a)])),
      stateSync: site.sync.stateSync,
      configSync: site.sync.configSync,
      port: site.sync.port,
      username: site.sync.username,
      ...(site.sync.password === undefined ? {} : { password: site.sync.password }),
      localAddress: syncAddresses(site, node)[0] ?? '',
      peerAddresses: peers.map((p) => p.syncAddress),
      pushes: site.sync.configSync && isPrimary,
    },
    gateways: site.gateways.map((g) => {
      const family = parseIP(g.address).family;
      return { name: g.name, interface: g.interface, address: g.address, family, isV4: family === 4, isV6: family === 6, isDefault: g.isDefault };
    }),
    aliases: site.aliases.map((a) => ({
      name: a.name,
      type: a.type,
      members: [...a.members],
      isPort: a.type === 'port',
      resolved: a.type === 'port' ? resolvePorts(site, [a.name]) : addressList(a.name),
    })),
    rules: site.rules.map((r) => ({
      name: r.name,
      interface: r.interface,
      action: r.action,
      protocol: r.protocol,
      source: r.source,
      destination: r.destination,
      sourceAddresses: addressList(r.source),
      destinationAddresses: addressList(r.destination),
      sourceIsAny: r.source === 'any',
      destinationIsAny: r.destination === 'any',
      ports: resolvePorts(site, r.ports),
      hasPorts: r.ports.length > 0,
      log: r.log,
      ...(r.description === undefined ? {} : { description: r.description }),
      isPass: r.action === 'pass',
      isBlock: r.action === 'block',
      isReject: r.action === 'reject',
    })),
    nat: site.nat.map((n) => {
      const vip = site.vips.find((v) => `vip:${v.name}` === n.translate);
      const vipCidr = vip === undefined ? undefined : parseCidr(vip.address);
      return {
        name: n.name,
        interface: n.interface,
        source: n.source,
        sourceAddresses: addressList(n.source),
        destination: n.destination,
        destinationAddresses: addressList(n.destination),
        destinationIsAny: n.destination === 'any',
        vip: vip?.name ?? '',
        translateAddress: vipCidr === undefined ? '' : formatIP(vipCidr),
        family: vipCidr?.family ?? 4,
      };
    }),
    dhcp: site.dhcp.map((d) => ({
      name: d.name,
      interface: d.interface,
      rangeFirst: d.range.first,
      rangeLast: d.range.last,
      gateway: vipOrAddress(site, d.gateway),
      dns: d.dns.map((s) => vipOrAddress(site, s)),
      leaseTime: d.leaseTime,
      ...(d.domain === undefined ? {} : { domain: d.domain }),
      subnet: subnetOf(node, d.interface, d.range.first),
      peers: site.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        isSelf: n === node,
        address: subnetAddress(n, d.interface, d.range.first),
      })),
    })),
    dns: site.dns.map((d) => ({
      name: d.name,
      listen: [...d.listen],
      listenAddresses: d.listen.flatMap((i) => [
        ...(node.interfaces[i] ?? []).map((c) => formatIP(parseCidr(c))),
        ...site.vips.filter((v) => v.interface === i).map((v) => formatIP(parseCidr(v.address))),
      ]),
      forwarders: [...d.forwarders],
      hasForwarders: d.forwarders.length > 0,
      ...(d.domain === undefined ? {} : { domain: d.domain }),
    })),
    users: site.users.map((u) => ({ name: u.name, passwordHash: u.passwordHash, sshKeys: [...u.sshKeys], admin: u.admin })),
    ...extra,
  };
}

export function addressContext(cidrText: string): AddressContext {
  const c = parseCidr(cidrText);
  const network = networkOf(c);
  return {
    address: formatIP(c),
    prefix: c.prefix,
    family: c.family,
    isV4: c.family === 4,
    isV6: c.family === 6,
    cidr: formatCidr(c),
    network: formatCidr(network),
    networkAddress: formatIP(network),
    ...(c.family === 4 ? { netmask: netmaskOf(c.prefix) } : {}),
  };
}

function interfaceContext(site: Site, node: NodeDef, name: string): InterfaceContext {
  const addresses = (node.interfaces[name] ?? []).map(addressContext);
  const ipv4 = addresses.filter((a) => a.isV4);
  const ipv6 = addresses.filter((a) => a.isV6);
  return { name, lowerName: name.toLowerCase(), addresses, ipv4, ipv6, hasV4: ipv4.length > 0, hasV6: ipv6.length > 0, isSync: name === site.sync.interface };
}

function vipContext(site: Site, vip: VipDef, nodeName: string): VipContext {
  const a = addressContext(vip.address);
  const skew = effectiveSkew(site, vip, nodeName);
  const intervalMs = advertIntervalMs(vip);
  return {
    name: vip.name,
    interface: vip.interface,
    ...(vip.description === undefined ? {} : { description: vip.description }),
    address: a.address,
    prefix: a.prefix,
    family: a.family,
    isV4: a.isV4,
    isV6: a.isV6,
    cidr: a.cidr,
    network: a.network,
    vhid: vip.vhid,
    vhidHex: vip.vhid.toString(16).padStart(2, '0'),
    protocol: vip.protocol,
    isCarp: vip.protocol === 'carp',
    isVrrp: vip.protocol === 'vrrp3',
    advbase: vip.advbase,
    baseSkew: vip.advskew,
    skew,
    vrrpPriority: vrrpPriority(skew),
    intervalMs,
    intervalCs: Math.round(intervalMs / 10),
    mac: virtualMac(vip),
    ...(vip.password === undefined ? {} : { password: vip.password }),
  };
}

/** Sync addresses of a node, IPv4 first (conntrackd and XML-RPC prefer one address). */
function syncAddresses(site: Site, node: NodeDef): string[] {
  const cidrs = (node.interfaces[site.sync.interface] ?? []).map(parseCidr);
  return [...cidrs.filter((c) => c.family === 4), ...cidrs.filter((c) => c.family === 6)].map(formatIP);
}

function peerContext(site: Site, peer: NodeDef): PeerContext {
  const addresses = syncAddresses(site, peer);
  return { name: peer.name, role: peer.role, isPrimary: peer.role === 'primary', syncAddress: addresses[0] ?? '', syncAddresses: addresses };
}

function vipOrAddress(site: Site, value: string): string {
  if (!value.startsWith('vip:')) return value;
  const vip = site.vips.find((v) => v.name === value.slice(4));
  return vip === undefined ? '' : formatIP(parseCidr(vip.address));
}

/** The node's address on `iface` whose subnet holds `inside` (the DHCP pool). */
function subnetCidr(node: NodeDef, iface: string, inside: string): Cidr | undefined {
  const ip = parseIP(inside);
  return (node.interfaces[iface] ?? []).map(parseCidr).find((c) => c.family === ip.family && networkOf(c).value === networkOf({ ...ip, prefix: c.prefix }).value);
}

function subnetOf(node: NodeDef, iface: string, inside: string): string {
  const c = subnetCidr(node, iface, inside);
  return c === undefined ? '' : formatCidr(networkOf(c));
}

function subnetAddress(node: NodeDef, iface: string, inside: string): string {
  const c = subnetCidr(node, iface, inside);
  return c === undefined ? '' : formatIP(c);
}
