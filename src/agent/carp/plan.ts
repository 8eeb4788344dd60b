// What this node elects, read from the site file: one election per [vip]
// section, with everything the I/O shell needs to carry it out (interface,
// macvlan name, virtual MAC, advert source and peers). Pure: no I/O, so the
// mapping from site file to protocol parameters is unit-tested on its own.
//
// Sources and peers, per family and transmission mode:
//   IPv4, multicast  source: our own address on the interface (from [node]);
//                    peers: the other nodes' addresses there. An authenticated
//                    advert from anyone else is a VHID conflict.
//   IPv6, CARP       the same with the global addresses (the CARP checksum
//                    has no pseudo-header, any local source will do).
//   IPv6, VRRPv3     source: the interface's link-local address, as RFC 5798
//                    5.1.2.1 requires and keepalived sends; it is only known at
//                    run time, and the peers' link-locals are not in the site
//                    file, so there is no peer check (password/protocol
//                    conflicts are still reported).
//   unicast = yes    source: our own (global) address; adverts go to the
//                    peers' addresses instead of 224.0.0.18 / ff02::12.

import { parseCidr, formatIP } from '../../config/net.js';
import { effectiveSkew, virtualMac, vrrpPriority } from '../../config/skew.js';
import type { Site, VipDef } from '../../config/types.js';
import type { CarpConfig, ElectionConfig, Family, Vrrp3Config } from '../proto/index.js';

/** The core's configuration without the advert source (known at run time for VRRPv3 over IPv6). */
export type ElectionParams = Omit<CarpConfig, 'sources'> | Omit<Vrrp3Config, 'sources'>;

export interface VipPlan {
  /** The [vip "NAME"]. */
  name: string;
  /** The port carrying it (WAN, LAN, OPTn). */
  interface: string;
  /** The address alone ("192.168.1.1") and its prefix. */
  address: string;
  prefix: number;
  family: Family;
  vhid: number;
  protocol: 'carp' | 'vrrp3';
  /** 00:00:5e:00:01:<vhid> (VRRP over IPv6: 00:00:5e:00:02:<vrid>). */
  vmac: string;
  /** The macvlan holding the VIP while MASTER: "<interface>-vh<vhid>". */
  macvlan: string;
  /** This node's skew for the VIP (advskew + the node's offset), before demotion. */
  skew: number;
  /** Our advert source, or 'link-local' to be looked up on the interface at run time. */
  source: string | 'link-local';
  /** The other nodes' own addresses on the interface, same family. */
  peers: string[];
  /** Check that authenticated adverts come from `peers`. */
  checkPeers: boolean;
  unicast: boolean;
  /** The election parameters; `sources` is filled in by electionConfig(). */
  election: ElectionParams;
}

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export function macvlanName(iface: string, vhid: number): string {
  const name = `${iface}-vh${vhid}`;
  if (name.length > 15) throw new RangeError(`macvlan name ${name} is longer than 15 characters`);
  return name;
}

/** The other nodes' addresses of `family` on `iface` (site order). */
function peerAddresses(site: Site, nodeName: string, iface: string, family: Family): string[] {
  return site.nodes
    .filter((n) => n.name !== nodeName)
    .flatMap((n) => n.interfaces[iface] ?? [])
    .map((c) => parseCidr(c))
    .filter((c) => c.family === family)
    .map((c) => formatIP(c));
}

function ownAddress(site: Site, nodeName: string, iface: string, family: Family): string {
  const node = site.nodes.find((n) => n.name === nodeName);
  const own = (node?.interfaces[iface] ?? []).map((c) => parseCidr(c)).find((c) => c.family === family);
  if (own === undefined) throw new Error(`${nodeName} has no IPv${family} address on ${iface}`);
  return formatIP(own);
}

/** One VIP as this node elects it. */
export function planVip(site: Site, nodeName: string, vip: VipDef): VipPlan {
  const cidr = parseCidr(vip.address);
  const family: Family = cidr.family;
  const address = formatIP(cidr);
  const skew = effectiveSkew(site, vip, nodeName);
  const unicast = vip.unicast === true;
  const linkLocal = vip.protocol === 'vrrp3' && family === 6 && !unicast;
  const peers = peerAddresses(site, nodeName, vip.interface, family);
  const common = {
    vhid: vip.vhid,
    addresses: [address],
    interface: vip.interface,
    preempt: site.cluster.preempt,
    ...(linkLocal ? {} : { peers }),
    ...(unicast ? { unicastPeers: peers } : {}),
  };
  const election: ElectionParams =
    vip.protocol === 'carp'
      ? { ...common, protocol: 'carp', advbase: vip.advbase, advskew: skew, password: vip.password ?? '' }
      : { ...common, protocol: 'vrrp3', priority: vrrpPriority(skew), interval: Math.round((vip.intervalMs ?? 1000) / 10), family };
  return {
    name: vip.name,
    interface: vip.interface,
    address,
    prefix: cidr.prefix,
    family,
    vhid: vip.vhid,
    protocol: vip.protocol,
    vmac: virtualMac(vip),
    macvlan: macvlanName(vip.interface, vip.vhid),
    skew,
    source: linkLocal ? 'link-local' : ownAddress(site, nodeName, vip.interface, family),
    peers,
    checkPeers: !linkLocal,
    unicast,
    election,
  };
}

/** Every VIP of the site, as `nodeName` elects them. */
export function planVips(site: Site, nodeName: string): VipPlan[] {
  return site.vips.map((v) => planVip(site, nodeName, v));
}

/** The core's configuration, once the advert source is known. */
export function electionConfig(p: VipPlan, source: string): ElectionConfig {
  return { ...p.election, sources: { [p.family]: source } } as ElectionConfig;
}

/** A key that changes whenever anything the election or the takeover uses changes. */
export function planKey(p: VipPlan): string {
  return JSON.stringify(p);
}
