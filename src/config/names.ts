/** Naming rules shared by the site and board parsers. */

/** Appliance ports are WAN, LAN, SYNC, plus optional OPT1, OPT2, ... */
export const INTERFACE_NAME = /^(WAN|LAN|SYNC|OPT[1-9][0-9]?)$/;
export const INTERFACE_NAMES_ALLOWED = 'WAN, LAN, SYNC, OPT1, OPT2, ...';

/** A single DNS label (RFC 1123): node and cluster names. */
export const HOSTNAME_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
export const HOSTNAME_ALLOWED = 'letters, digits and -, 1-63 characters, not starting or ending with -';

/** A dotted DNS domain. */
export const DOMAIN_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Alias names must not look like addresses, so they start with a letter or _. */
export const ALIAS_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
export const ALIAS_ALLOWED = 'a letter or _, then letters, digits and _ (up to 32 characters)';

/** Names of vip, rule, nat, gateway, dhcp and dns sections. */
export const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const OBJECT_ALLOWED = 'letters, digits, _ . and -, starting with a letter or digit';

/** Unix login names. */
export const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
export const USER_ALLOWED = 'lower-case letters, digits, _ and -, starting with a letter or _';

/** Orders interface names the way appliances label their ports: WAN, LAN, SYNC, OPT1, OPT2, ... */
export function compareInterfaceNames(a: string, b: string): number {
  return interfaceRank(a) - interfaceRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function interfaceRank(name: string): number {
  const fixed = ['WAN', 'LAN', 'SYNC'].indexOf(name);
  if (fixed >= 0) return fixed;
  const opt = /^OPT([0-9]+)$/.exec(name);
  return opt === null ? 1000 : 3 + Number(opt[1]);
}
