/**
 * The receiving side's decision, pure: given this node's active site and a
 * push, either the exact site to apply or the fault to answer with. Nothing
 * is touched here; apply.ts makes the decision real.
 *
 * Checks, in order, each with a message the primary's admin can act on:
 *   1. direction: the push comes from this cluster's primary (by name, and
 *      from its SYNC address when the caller passes the source), to a secondary;
 *   2. versions (protocol.ts);
 *   3. areas: known names, synced on this node ([sync] areas);
 *   4. each area's text: INI syntax, and only that area's section types;
 *   5. the merge (this node's own sections + the pushed areas) validates
 *      as a whole site, with this node's addresses and skew.
 */
import { ConfigErrors, type ConfigError } from '../../config/errors.js';
import { formatIP, parseCidr } from '../../config/net.js';
import { siteToIni } from '../../config/serialize.js';
import { parseSite } from '../../config/site.js';
import { SYNC_AREAS, type Site, type SyncArea } from '../../config/types.js';
import { FAULT, XmlRpcFault } from '../xmlrpc/faults.js';
import { areaTextProblems, isSyncArea, mergeAreas, type AreaTexts } from './areas.js';
import { checkVersions, type PushRequest } from './protocol.js';

export interface ReceiveInput {
  /** This node's name. */
  self: string;
  /** This node's active site. */
  site: Site;
  carpdVersion: string;
  push: PushRequest;
  /** The TCP peer's address; when given, it must be one of the primary's SYNC addresses. */
  sourceAddress?: string;
}

export interface ReceivePlan {
  site: Site;
  /** Canonical INI of the merged site: what gets stored as the new revision. */
  text: string;
  areas: SyncArea[];
  warnings: string[];
}

export function planReceive(input: ReceiveInput): ReceivePlan {
  const { site, self, push } = input;
  checkDirection(site, self, push.from, input.sourceAddress);
  const warning = checkVersions({ node: self, carpdVersion: input.carpdVersion }, push);
  const incoming = checkAreas(site, self, push.areas);
  const problems = Object.entries(incoming).flatMap(([area, text]) => areaTextProblems(area as SyncArea, text ?? '', `${push.from}:${area}`));
  if (problems.length > 0) {
    throw new XmlRpcFault(FAULT.invalidConfig, `the push from ${push.from} (revision ${push.revision}) is malformed:\n${problems.join('\n')}`);
  }
  let merged: Site;
  try {
    merged = parseSite(mergeAreas(site, incoming), `${self}+${push.from}`);
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    const lines = err.errors.map(describe);
    throw new XmlRpcFault(FAULT.invalidConfig, `${push.from}'s revision ${push.revision} does not validate on ${self}; nothing was changed:\n${lines.join('\n')}`);
  }
  const areas = SYNC_AREAS.filter((a) => incoming[a] !== undefined);
  return { site: merged, text: siteToIni(merged), areas, warnings: warning === undefined ? [] : [warning] };
}

function checkDirection(site: Site, self: string, from: string, source: string | undefined): void {
  const me = site.nodes.find((n) => n.name === self);
  const primary = site.nodes.find((n) => n.role === 'primary');
  if (me?.role === 'primary') {
    throw new XmlRpcFault(FAULT.wrongDirection, `${self} is the primary of cluster ${site.cluster.name}: config flows from it, it takes no pushes (this one came from "${from}")`);
  }
  if (primary === undefined || primary.name !== from) {
    throw new XmlRpcFault(FAULT.wrongDirection, `push from "${from}", but the primary of cluster ${site.cluster.name} is ${primary?.name ?? 'not defined'}: refused`);
  }
  if (source === undefined) return;
  // The password is the authentication; this is the second lock: pushes come over the SYNC link only.
  const address = source.replace(/^::ffff:/, '');
  const allowed = (primary.interfaces[site.sync.interface] ?? []).map((c) => formatIP(parseCidr(c)));
  if (!allowed.includes(address)) {
    throw new XmlRpcFault(FAULT.wrongDirection, `push claiming to be ${from} came from ${address}, not from ${from}'s ${site.sync.interface} address (${allowed.join(', ') || 'none'}): refused`);
  }
}

function checkAreas(site: Site, self: string, areas: Record<string, string>): AreaTexts {
  const out: AreaTexts = {};
  for (const [name, text] of Object.entries(areas)) {
    if (!isSyncArea(name)) throw new XmlRpcFault(FAULT.unknownArea, `unknown area "${name.slice(0, 64)}" (areas: ${SYNC_AREAS.join(', ')})`);
    if (!site.sync.areas.includes(name)) {
      throw new XmlRpcFault(FAULT.unknownArea, `area ${name} is not synced on ${self} ([sync] areas = ${site.sync.areas.join(', ') || 'none'})`);
    }
    out[name] = text;
  }
  return out;
}

/** A validation problem without the merged text's line number, which means nothing to the sender. */
export function describe(e: ConfigError): string {
  const where = [e.section, e.key === undefined ? undefined : `${e.key}:`].filter((x) => x !== undefined).join(' ');
  const allowed = e.allowed === undefined ? '' : ` (allowed: ${e.allowed})`;
  return `${where === '' ? '' : `${where} `}${e.detail}${allowed}`;
}
