/**
 * The site model: one HA cluster (two or three firewalls) as described by a
 * site INI file. Builder, agent (carpd) and lab all read this same model.
 *
 * Addresses are kept as canonical text ("203.0.113.2/24", "2001:db8::1") so a
 * Site is plain JSON; use ./net.ts to compute with them. The INI keys are
 * named in each field's comment; build/sites/ha-pair.ini documents them all.
 *
 * Sync: [node] sections describe one appliance and are never synced.
 * [cluster] and [sync] are built into the image. Every other section type
 * belongs to one XML-RPC sync area (SYNC_AREA_OF_SECTION).
 */

export type Role = 'primary' | 'secondary';
export type VipProtocol = 'carp' | 'vrrp3';
export type RuleAction = 'pass' | 'block' | 'reject';
export type RuleProtocol = 'any' | 'tcp' | 'udp' | 'tcp/udp' | 'icmp' | 'icmpv6';
export type AliasType = 'host' | 'network' | 'port';
export type NatType = 'outbound';

export const ROLES: readonly Role[] = ['primary', 'secondary'];
export const VIP_PROTOCOLS: readonly VipProtocol[] = ['carp', 'vrrp3'];
export const RULE_ACTIONS: readonly RuleAction[] = ['pass', 'block', 'reject'];
export const RULE_PROTOCOLS: readonly RuleProtocol[] = ['any', 'tcp', 'udp', 'tcp/udp', 'icmp', 'icmpv6'];
export const ALIAS_TYPES: readonly AliasType[] = ['host', 'network', 'port'];
export const NAT_TYPES: readonly NatType[] = ['outbound'];

/** The configuration areas the primary pushes to the secondary over XML-RPC. */
export type SyncArea = 'rules' | 'nat' | 'aliases' | 'vips' | 'dhcp' | 'dns' | 'users' | 'routes';
export const SYNC_AREAS: readonly SyncArea[] = ['rules', 'nat', 'aliases', 'vips', 'dhcp', 'dns', 'users', 'routes'];

/** Section types that are synced, and the sync area each belongs to. */
export const SYNC_AREA_OF_SECTION = {
  vip: 'vips',
  rule: 'rules',
  nat: 'nat',
  alias: 'aliases',
  dhcp: 'dhcp',
  dns: 'dns',
  user: 'users',
  gateway: 'routes',
} as const satisfies Record<string, SyncArea>;

export type SyncedSectionType = keyof typeof SYNC_AREA_OF_SECTION;

/** Section types that are never synced: per-appliance or built into the image. */
export const UNSYNCED_SECTION_TYPES = ['cluster', 'sync', 'node'] as const;

/** [cluster]: settings shared by all nodes. */
export interface ClusterDef {
  /** `name`: cluster name, a hostname label (e.g. "office"). Required. */
  name: string;
  /** `domain`: DNS domain of the nodes (fw1.<domain>). Optional. */
  domain?: string;
  /**
   * `secondary_skew_offset`: added to every VIP's advskew on secondaries, as
   * pfSense's XML-RPC sync adds +100. 1-254, default 100.
   */
  secondarySkewOffset: number;
  /** `preempt`: a node with a lower skew takes the VIPs back when it returns. Default yes. */
  preempt: boolean;
}

/** [sync]: state sync (conntrackd) and config sync (XML-RPC) between the nodes. */
export interface SyncDef {
  /** `interface`: the dedicated link carrying both syncs. Default SYNC. */
  interface: string;
  /** `areas`: what config sync replicates (see SYNC_AREAS). Default: all. `none` for no area. */
  areas: SyncArea[];
  /** `state_sync`: run conntrackd over the sync link. Default yes. */
  stateSync: boolean;
  /** `config_sync`: the primary pushes `areas` to the secondaries. Default yes. */
  configSync: boolean;
  /** `port`: HTTPS port of the XML-RPC endpoint on the sync address. Default 8443. */
  port: number;
  /** `username`: basic-auth user for XML-RPC (like pfSense, admin). Default admin. */
  username: string;
  /** `password`: basic-auth password for XML-RPC. Required when config_sync = yes. */
  password?: string;
  /**
   * `tofu`: trust a peer's XML-RPC certificate on first use (logged, then
   * pinned in the state dir) when its [node] has no `fingerprint`. Default
   * yes; absent means yes and only `false` is stored, so older sites
   * round-trip unchanged.
   */
  tofu?: boolean;
}

/** [node "NAME"]: one appliance. Never synced. */
export interface NodeDef {
  /** The section name: the node's hostname (one DNS label). */
  name: string;
  /** `role`: primary or secondary; exactly one primary. */
  role: Role;
  /**
   * `skew_offset`: added to each VIP's advskew on this node. Default 0 for
   * the primary and cluster.secondary_skew_offset for secondaries; set it on
   * the third node of a trio so that no two nodes tie.
   */
  skewOffset?: number;
  /**
   * `fingerprint`: SHA-256 fingerprint of this node's XML-RPC TLS certificate
   * ("AB:CD:..." as `carpd status` shows it), pinned by the peers that push
   * to it. Optional (see [sync] tofu). Canonical: upper-case pairs with colons.
   */
  fingerprint?: string;
  /**
   * Interface keys (WAN, LAN, SYNC, OPT1, OPT2, ...): one or more
   * "address/prefix" per interface, IPv4 and/or IPv6, canonical text.
   */
  interfaces: Record<string, string[]>;
}

/** [vip "NAME"]: a shared virtual IP elected by CARP (or VRRPv3). */
export interface VipDef {
  name: string;
  /** `interface`: where the VIP lives. Required. */
  interface: string;
  /** `address`: "address/prefix" inside the nodes' subnet on that interface. Required. */
  address: string;
  /** `vhid`: CARP VHID / VRRP VRID, 1-255, unique per interface. Required. */
  vhid: number;
  /** `protocol`: carp (default) or vrrp3. */
  protocol: VipProtocol;
  /** `advbase`: CARP advertisement base interval in seconds, 1-255, default 1 (carp only). */
  advbase: number;
  /**
   * `advskew`: the primary's skew, 0-254, default 0; secondaries add their
   * offset (see effectiveSkew). For vrrp3 the priority is 254 - effective skew.
   */
  advskew: number;
  /** `interval_ms`: VRRPv3 advertisement interval, 10-40950 in steps of 10, default 1000 (vrrp3 only). */
  intervalMs?: number;
  /** `password`: CARP HMAC key; required for carp, refused for vrrp3 (VRRPv3 has no authentication). */
  password?: string;
  /**
   * `unicast`: advertise to the other nodes' own addresses on the interface
   * (same family) instead of the multicast group, for segments where
   * multicast is unwanted or filtered. Default no (absent).
   */
  unicast?: boolean;
  /** `description`: free text. */
  description?: string;
}

/** [gateway "NAME"]: a next hop; synced in the routes area. */
export interface GatewayDef {
  name: string;
  /** `interface`: where the next hop is. Required. */
  interface: string;
  /** `address`: the next hop, inside the nodes' subnet on that interface. Required. */
  address: string;
  /** `default`: install as the default route of its family. Default yes; one per family. */
  isDefault: boolean;
  description?: string;
}

/** [alias "NAME"]: a named list of hosts, networks or ports usable in rules and NAT. */
export interface AliasDef {
  /** Letters, digits and _; starts with a letter or _. */
  name: string;
  /** `type`: host, network or port. Required. */
  type: AliasType;
  /**
   * `members`: comma list. host: addresses; network: address/prefix;
   * port: numbers or ranges (8000-8080). Other aliases of the same type may be named.
   */
  members: string[];
  description?: string;
}

/**
 * [rule "NAME"]: a filter rule. Rules are evaluated in file order, first match
 * wins; the order is kept by siteToIni.
 *
 * Address expressions (source, destination): `any`, an address, address/prefix,
 * an alias name, `vip:NAME`, `net:IFACE` (the nodes' subnets on IFACE), or
 * `self` (the firewall's own addresses).
 */
export interface RuleDef {
  name: string;
  /** `interface`: traffic entering this interface. Required. */
  interface: string;
  /** `action`: pass, block (drop) or reject. Required. */
  action: RuleAction;
  /** `protocol`: any (default), tcp, udp, tcp/udp, icmp, icmpv6. */
  protocol: RuleProtocol;
  /** `source`: address expression, default any. */
  source: string;
  /** `destination`: address expression, default any. */
  destination: string;
  /** `port`: destination ports (80, 8000-8080, a port alias), comma list; tcp/udp only. Empty: any port. */
  ports: string[];
  /** `log`: log matches. Default no. */
  log: boolean;
  description?: string;
}

/**
 * [nat "NAME"]: an outbound NAT rule, in file order. Per the pfSense HA guide
 * the translation address must be a CARP VIP, and the source must never match
 * the cluster's own WAN addresses (so `any` is refused).
 */
export interface NatDef {
  name: string;
  /** `type`: outbound (the only type so far). */
  type: NatType;
  /** `interface`: the egress interface. Default WAN. */
  interface: string;
  /** `source`: address expression (not `any`, not `self`). Required. */
  source: string;
  /** `destination`: address expression. Default any. */
  destination: string;
  /** `translate`: `vip:NAME`, a VIP on the egress interface. Required. */
  translate: string;
  description?: string;
}

/** [dhcp "NAME"]: a DHCPv4 pool served by both nodes as Kea HA peers. */
export interface DhcpDef {
  name: string;
  /** `interface`: the served network. Required. */
  interface: string;
  /** `range`: "first-last" IPv4 addresses inside the subnet. Required. */
  range: { first: string; last: string };
  /** `gateway`: router handed to clients: `vip:NAME` (as the HA guides say) or an address. Required. */
  gateway: string;
  /** `dns`: DNS servers handed to clients: `vip:NAME` or addresses, comma list. Optional. */
  dns: string[];
  /** `lease_time`: seconds, 60-2592000, default 7200. */
  leaseTime: number;
  /** `domain`: domain name handed to clients. Optional. */
  domain?: string;
}

/** [dns "NAME"]: a caching resolver (unbound). */
export interface DnsDef {
  name: string;
  /** `listen`: interfaces to answer on, comma list. Required. */
  listen: string[];
  /** `forwarders`: upstream resolvers (addresses); empty means full recursion. */
  forwarders: string[];
  /** `domain`: local domain served. Optional. */
  domain?: string;
}

/** [user "NAME"]: a login on the appliances. */
export interface UserDef {
  /** Login name: lower-case letters, digits, _ and -. */
  name: string;
  /** `password_hash`: crypt(3) hash ($6$..., $y$...). Required. */
  passwordHash: string;
  /** `ssh_keys`: OpenSSH public keys, comma list. Optional. */
  sshKeys: string[];
  /** `admin`: may change the configuration. Default no. */
  admin: boolean;
}

/** A whole site file. rules and nat keep file order (first match wins); the other arrays are sorted by name. */
export interface Site {
  cluster: ClusterDef;
  sync: SyncDef;
  nodes: NodeDef[];
  gateways: GatewayDef[];
  vips: VipDef[];
  aliases: AliasDef[];
  rules: RuleDef[];
  nat: NatDef[];
  dhcp: DhcpDef[];
  dns: DnsDef[];
  users: UserDef[];
}
