/**
 * The firewall of a node, from the site file:
 *
 *   renderRuleset     site + node -> one nftables file (filter, aliases, SYNC rules, NAT)
 *   routerSysctls     forwarding, rp_filter, ARP and conntrack settings, in order
 *                     (VIP macvlans' own settings: src/agent/carp/sysctl.ts)
 *   checkRuleset / applyRuleset  nft -c / nft -f, atomic, old ruleset kept on error
 *   port forwards and 1:1 NAT: forwards.ts (proposed site keys, local types)
 */
export * from './ruleset.js';
export * from './devices.js';
export * from './forwards.js';
export * from './sysctl.js';
export * from './apply.js';
export { collapseCidrs, collapsePorts, quote } from './nft.js';
