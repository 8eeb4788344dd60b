/**
 * How conntrackd talks between the nodes: one decision, shared by the
 * conntrackd.conf generator and the firewall (so the SYNC rules pass exactly
 * the port and addresses conntrackd uses).
 *
 * Default: unicast UDP between the two nodes' SYNC addresses, port 3780.
 *   - the firewall rule is exact: from the peer's SYNC address to ours, one port;
 *   - no IGMP/MLD, no dependence on a switch's multicast snooping (a direct
 *     cable, as the HA guides advise, or any switch works the same);
 *   - FTFW makes it reliable (sequence numbers, acks, resends), so UDP's
 *     lack of delivery guarantees costs nothing.
 * conntrackd's UDP transport has one destination per link, so a trio needs
 * multicast (group 225.0.0.50, conntrackd's own example); that is chosen
 * automatically for three or more nodes and can be forced for a pair.
 */
import { formatIP, parseCidr } from '../../config/net.js';
import type { NodeDef, Site } from '../../config/types.js';

/** conntrackd's customary port (its examples' UDP Port and multicast Group). */
export const CONNTRACKD_PORT = 3780;
/** conntrackd's example multicast group, used when the transport is multicast. */
export const CONNTRACKD_MULTICAST_GROUP = '225.0.0.50';

export type StateSyncTransportKind = 'udp' | 'multicast';

/** Knobs shared by renderConntrackdConf and renderRuleset; pass the same object to both. */
export interface StateSyncOptions {
  /** Default: udp for a pair, multicast for three or more nodes. */
  transport?: StateSyncTransportKind;
  /** UDP port (unicast) or multicast "Group" (which is the UDP port too). Default 3780. */
  port?: number;
  /** IPv4 multicast group. Default 225.0.0.50. */
  multicastGroup?: string;
}

export interface StateSyncPeer {
  name: string;
  address: string;
}

export interface StateSyncTransport {
  kind: StateSyncTransportKind;
  family: 4 | 6;
  port: number;
  /** The site's sync interface (WAN/LAN/SYNC/OPTn name). */
  interface: string;
  /** This node's address on the sync interface, in `family`. */
  local: string;
  /** Every other node's sync address, in `family`, in site order. */
  peers: StateSyncPeer[];
  /** Multicast group (kind = multicast only). */
  group?: string;
}

export class StateSyncConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateSyncConfigError';
  }
}

/** The sync addresses of a node in one family, in site order. */
function syncAddressesOf(site: Site, node: NodeDef, family: 4 | 6): string[] {
  return (node.interfaces[site.sync.interface] ?? [])
    .map(parseCidr)
    .filter((c) => c.family === family)
    .map(formatIP);
}

/**
 * The conntrackd transport of `nodeName`: IPv4 when every node has an IPv4
 * SYNC address (as conntrackd and the XML-RPC sync prefer), else IPv6.
 */
export function stateSyncTransport(site: Site, nodeName: string, opts: StateSyncOptions = {}): StateSyncTransport {
  const node = site.nodes.find((n) => n.name === nodeName);
  if (node === undefined) {
    throw new StateSyncConfigError(`no node "${nodeName}" in site ${site.cluster.name} (nodes: ${site.nodes.map((n) => n.name).join(', ')})`);
  }
  const others = site.nodes.filter((n) => n !== node);
  if (others.length === 0) throw new StateSyncConfigError(`state sync needs a peer, but ${nodeName} is the only node`);
  const kind = opts.transport ?? (others.length > 1 ? 'multicast' : 'udp');
  if (kind === 'udp' && others.length > 1) {
    throw new StateSyncConfigError(
      `conntrackd's UDP transport reaches one peer, but ${nodeName} has ${others.length} (${others.map((n) => n.name).join(', ')}); use multicast`,
    );
  }
  const port = opts.port ?? CONNTRACKD_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StateSyncConfigError(`state sync port ${port} is not 1-65535`);

  const families: (4 | 6)[] = kind === 'multicast' ? [4] : [4, 6];
  for (const family of families) {
    const local = syncAddressesOf(site, node, family)[0];
    const peers = others.map((n) => ({ name: n.name, address: syncAddressesOf(site, n, family)[0] }));
    if (local === undefined || peers.some((p) => p.address === undefined)) continue;
    const transport: StateSyncTransport = {
      kind,
      family,
      port,
      interface: site.sync.interface,
      local,
      peers: peers.map((p) => ({ name: p.name, address: p.address ?? '' })),
    };
    if (kind === 'multicast') transport.group = opts.multicastGroup ?? CONNTRACKD_MULTICAST_GROUP;
    return transport;
  }
  const need = kind === 'multicast' ? 'an IPv4 address (conntrackd multicast is IPv4 here)' : 'addresses of one family (IPv4 or IPv6)';
  throw new StateSyncConfigError(`state sync over ${kind}: every node needs ${need} on ${site.sync.interface}`);
}
