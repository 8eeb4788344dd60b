/**
 * The one site-config model shared by builder, agent and lab, and the board model.
 *
 *   parseSite / loadSite   site INI -> validated Site (throws ConfigErrors)
 *   siteToIni              Site -> canonical INI (round-trips through parseSite)
 *   nodeContext            Site + node name -> JSON for mustache templates
 *   effectiveSkew & co.    election parameters
 *   parseBoard / loadBoard board INI -> Board
 *   mapNics                Board + found NICs -> WAN/LAN/SYNC interface names
 *   net                    IPv4/IPv6 helpers
 */
export * from './types.js';
export { ConfigError, ConfigErrors, type ConfigProblem } from './errors.js';
export { parseSite, loadSite } from './site.js';
export { siteToIni } from './serialize.js';
export { nodeContext, addressContext, type NodeContext, type VipContext, type InterfaceContext, type AddressContext, type PeerContext } from './context.js';
export { effectiveSkew, nodeSkewOffset, vrrpPriority, virtualMac, advertIntervalMs, MAX_CARP_SKEW, MAX_VRRP_SKEW } from './skew.js';
export { parseAddressRef, resolveAddressRef, resolvePorts, type AddressRef } from './refs.js';
export {
  parseBoard,
  loadBoard,
  parseNicSelector,
  normalizePciAddress,
  normalizeMac,
  parseSize,
  formatSize,
  type Board,
  type NicRole,
  type NicSelector,
  type Arch,
  type BootFirmware,
} from './board.js';
export { mapNics, type FoundNic, type NicAssignment, type NicMapResult } from './nicmap.js';
export * as net from './net.js';
