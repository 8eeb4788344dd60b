/**
 * Inbound NAT whose public address is a CARP VIP: port forwards (pfSense
 * "NAT > Port Forward") and 1:1 NAT (pfSense "NAT > 1:1"), the seeds'
 * web-server example. The site model has no keys for these yet; these local
 * types are the proposal (see PROPOSED_SITE_KEYS) so the generator can be
 * wired as soon as src/config reads them:
 *
 *   [nat "web"]                   ; a port forward (sync area nat)
 *   type        = forward
 *   interface   = WAN             ; ingress port. Default WAN.
 *   protocol    = tcp             ; tcp (default), udp or tcp/udp
 *   source      = any             ; address expression. Default any.
 *   destination = vip:web         ; the public address: a VIP on the ingress port. Required.
 *   port        = 80, 443         ; external ports or a port alias. Required.
 *   target      = 192.168.1.10    ; the inside host. Required.
 *   target_port = 8080            ; optional; only with a single external port.
 *   filter_rule = yes             ; also pass the forwarded traffic (pfSense's
 *                                 ; "associated filter rule"). Default yes.
 *
 *   [nat "mail"]                  ; 1:1 NAT (sync area nat)
 *   type        = binat
 *   interface   = WAN
 *   external    = vip:mail        ; a VIP on that port, used for this host alone
 *   internal    = 192.168.1.11    ; the inside host
 *
 * As on pfSense, filter rules see the inside address after DNAT: a 1:1 host
 * is opened with [rule] destination = 192.168.1.11 (the example's web-in rule
 * does exactly that for web_servers).
 */
import { parseCidr, parseIP, type Cidr } from '../../config/net.js';
import { parseAddressRef, resolveAddressRef, resolvePorts } from '../../config/refs.js';
import type { Site } from '../../config/types.js';
import { collapsePorts } from './nft.js';

export type ForwardProtocol = 'tcp' | 'udp' | 'tcp/udp';

/** Proposed Site.forwards entry ([nat] type = forward), in file order. */
export interface PortForwardDef {
  name: string;
  /** `interface`: ingress port. Default WAN. */
  interface: string;
  /** `protocol`: tcp (default), udp, tcp/udp. */
  protocol: ForwardProtocol;
  /** `source`: address expression. Default any. */
  source: string;
  /** `destination`: vip:NAME, a VIP on `interface`. */
  destination: string;
  /** `port`: external ports (443, 8000-8080, a port alias), comma list. */
  ports: string[];
  /** `target`: inside host address. */
  target: string;
  /** `target_port`: inside port, only with a single external port. */
  targetPort?: number;
  /** `filter_rule`: add the associated pass rule. Default yes. */
  filterRule: boolean;
  description?: string;
}

/** Proposed Site.binat entry ([nat] type = binat), in file order. */
export interface OneToOneNatDef {
  name: string;
  /** `interface`: the port carrying the external VIP. Default WAN. */
  interface: string;
  /** `external`: vip:NAME on `interface`. */
  external: string;
  /** `internal`: the inside host. */
  internal: string;
  description?: string;
}

export const PROPOSED_SITE_KEYS = {
  forward: 'type = forward; interface, protocol, source, destination (vip:NAME), port, target, target_port, filter_rule, description',
  binat: 'type = binat; interface, external (vip:NAME), internal, description',
};

export class ForwardError extends Error {
  constructor(kind: string, name: string, message: string) {
    super(`[nat "${name}"] (${kind}): ${message}`);
    this.name = 'ForwardError';
  }
}

/** A port forward resolved against the site for one node. */
export interface ResolvedForward {
  def: PortForwardDef;
  family: 4 | 6;
  public: Cidr;
  target: Cidr;
  /** Collapsed external ports. */
  ports: string[];
  /** The port alias when `port` is exactly one alias (kept as a named set). */
  portAlias?: string;
  source: Cidr[] | 'any';
}

export interface ResolvedOneToOne {
  def: OneToOneNatDef;
  family: 4 | 6;
  external: Cidr;
  internal: Cidr;
}

function vipOn(site: Site, kind: string, name: string, ref: string, iface: string): Cidr {
  const m = /^vip:(.+)$/.exec(ref.trim());
  if (m === null) throw new ForwardError(kind, name, `"${ref}" is not vip:NAME; the public address must be a CARP VIP so it follows the master`);
  const vip = site.vips.find((v) => v.name === m[1]);
  if (vip === undefined) throw new ForwardError(kind, name, `vip "${m[1] ?? ''}" does not exist`);
  if (vip.interface !== iface) throw new ForwardError(kind, name, `vip "${vip.name}" is on ${vip.interface}, not on ${iface}`);
  const c = parseCidr(vip.address);
  return { family: c.family, value: c.value, prefix: c.family === 4 ? 32 : 128 };
}

function host(kind: string, name: string, text: string): Cidr {
  try {
    const ip = parseIP(text);
    return { ...ip, prefix: ip.family === 4 ? 32 : 128 };
  } catch {
    throw new ForwardError(kind, name, `"${text}" is not a host address`);
  }
}

export function resolveForward(site: Site, nodeName: string, def: PortForwardDef): ResolvedForward {
  const kind = 'forward';
  const pub = vipOn(site, kind, def.name, def.destination, def.interface);
  const target = host(kind, def.name, def.target);
  if (target.family !== pub.family) throw new ForwardError(kind, def.name, `target ${def.target} is IPv${target.family} but the VIP is IPv${pub.family}`);
  if (def.ports.length === 0) throw new ForwardError(kind, def.name, 'port is required');
  const ports = collapsePorts(resolvePorts(site, def.ports));
  if (ports.length === 0) throw new ForwardError(kind, def.name, `port ${def.ports.join(', ')} names no ports`);
  if (def.targetPort !== undefined) {
    if (!Number.isInteger(def.targetPort) || def.targetPort < 1 || def.targetPort > 65535) throw new ForwardError(kind, def.name, `target_port ${def.targetPort} is not 1-65535`);
    if (ports.length !== 1 || ports[0]?.includes('-')) throw new ForwardError(kind, def.name, 'target_port needs a single external port (ranges keep their port numbers)');
  }
  const source = resolveAddressRef(site, parseAddressRef(def.source), nodeName);
  const alias = def.ports.length === 1 && /^[A-Za-z_]/.test(def.ports[0] ?? '') ? def.ports[0] : undefined;
  const r: ResolvedForward = { def, family: pub.family, public: pub, target, ports, source };
  if (alias !== undefined) r.portAlias = alias;
  return r;
}

export function resolveOneToOne(site: Site, def: OneToOneNatDef): ResolvedOneToOne {
  const kind = 'binat';
  const external = vipOn(site, kind, def.name, def.external, def.interface);
  const internal = host(kind, def.name, def.internal);
  if (internal.family !== external.family) throw new ForwardError(kind, def.name, `internal ${def.internal} is IPv${internal.family} but the VIP is IPv${external.family}`);
  return { def, family: external.family, external, internal };
}

/** Defaults as the proposed reader would fill them. */
export function portForward(def: Partial<PortForwardDef> & Pick<PortForwardDef, 'name' | 'destination' | 'ports' | 'target'>): PortForwardDef {
  return { interface: 'WAN', protocol: 'tcp', source: 'any', filterRule: true, ...def };
}

export function oneToOne(def: Partial<OneToOneNatDef> & Pick<OneToOneNatDef, 'name' | 'external' | 'internal'>): OneToOneNatDef {
  return { interface: 'WAN', ...def };
}
