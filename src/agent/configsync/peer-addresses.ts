/**
 * Synced sections that name one node's own address.
 *
 * pfSense's XML-RPC sync rewrites the one such field it knows, the DHCP
 * failover peer IP, for the receiving node. In carpenter's model that field
 * does not exist: Kea's HA peers, the SYNC rules, VRRP unicast peers and
 * skews are all derived from the [node] sections, which each node keeps for
 * itself, so they come out mirrored on the receiver by construction (the
 * unit tests check it).
 *
 * What cannot be mirrored is a literal address typed into a synced section:
 * "destination = 192.168.1.2" means fw1 on fw1 *and* on fw2. That is
 * legitimate (a rule about the peer) but more often a slip for `self` or a
 * VIP, so the primary reports it with the push instead of silently sending it.
 */
import { formatIP, parseCidr } from '../../config/net.js';
import { parseAddressRef } from '../../config/refs.js';
import type { Site } from '../../config/types.js';

export function nodeAddressWarnings(site: Site): string[] {
  const owners = new Map<string, string>();
  for (const node of site.nodes) {
    for (const [iface, cidrs] of Object.entries(node.interfaces)) {
      for (const c of cidrs) owners.set(formatIP(parseCidr(c)), `${node.name}'s own ${iface} address`);
    }
  }
  const warnings: string[] = [];
  const check = (label: string, key: string, expr: string) => {
    let ref;
    try {
      ref = parseAddressRef(expr);
    } catch {
      return; // the parser reported it already
    }
    if (ref.kind !== 'cidr' || ref.cidr.prefix !== (ref.cidr.family === 4 ? 32 : 128)) return;
    const owner = owners.get(formatIP(ref.cidr));
    if (owner !== undefined) warnings.push(`${label} ${key} ${expr} is ${owner}: every node reads it as that node (use self, net:IFACE or a VIP if you meant "this node")`);
  };
  for (const r of site.rules) {
    check(`[rule "${r.name}"]`, 'source', r.source);
    check(`[rule "${r.name}"]`, 'destination', r.destination);
  }
  for (const n of site.nat) check(`[nat "${n.name}"]`, 'destination', n.destination);
  for (const a of site.aliases.filter((x) => x.type !== 'port')) {
    for (const m of a.members) check(`[alias "${a.name}"]`, 'members', m);
  }
  for (const d of site.dns) for (const f of d.forwarders) check(`[dns "${d.name}"]`, 'forwarders', f);
  return warnings;
}
