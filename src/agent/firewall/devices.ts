/**
 * Which kernel devices a site interface stands for.
 *
 * A VIP lives on a macvlan with the virtual MAC (keepalived's use_vmac, BSD
 * carp(4)): frames sent to the virtual MAC are received on that macvlan, so a
 * LAN client's traffic through the gateway VIP enters with iifname = the
 * macvlan, not "LAN". Every filter and NAT rule therefore matches a site
 * interface as the set of its devices: the port itself plus the macvlan of
 * every VIP on it.
 *
 * The default follows carpd's takeover code (src/agent/carp/plan.ts
 * macvlanName): `<IFACE>-vh<vhid>` (WAN-vh49, LAN-vh1; at most 11
 * characters, under the kernel's 15). The VHID is unique per interface, so
 * the name is too. Wiring should pass `vipDevice: (v) => macvlanName(v.interface,
 * v.vhid)` so there is one source of truth.
 */
import type { Site, VipDef } from '../../config/types.js';

export function vipDeviceName(vip: Pick<VipDef, 'interface' | 'vhid'>): string {
  return `${vip.interface}-vh${vip.vhid}`;
}

export type VipDeviceNamer = (vip: VipDef) => string;

export interface InterfaceDevices {
  /** The site's interface name (WAN, LAN, SYNC, OPTn). */
  name: string;
  /** Port first, then VIP macvlans in VHID order. */
  devices: string[];
  /** "vip wan" per macvlan, for comments. */
  vipOf: Record<string, string>;
}

export function interfaceDevices(site: Site, iface: string, namer: VipDeviceNamer = vipDeviceName): InterfaceDevices {
  const vips = site.vips.filter((v) => v.interface === iface).sort((a, b) => a.vhid - b.vhid);
  const vipOf: Record<string, string> = {};
  const devices = [iface];
  for (const vip of vips) {
    const dev = namer(vip);
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(dev)) throw new Error(`VIP device name "${dev}" for vip ${vip.name} is not a valid interface name`);
    if (!devices.includes(dev)) devices.push(dev);
    vipOf[dev] = vipOf[dev] === undefined ? `vip ${vip.name}` : `${vipOf[dev]}, vip ${vip.name}`;
  }
  return { name: iface, devices, vipOf };
}
