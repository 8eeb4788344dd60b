/**
 * What the nodes say to each other over XML-RPC, independent of transport:
 * method names, the push request and its answer, and the version rule.
 *
 *   carpenter.version()               -> { carpd, protocol, node, role, cluster, capabilities, areas }
 *   carpenter.status()                -> SyncStatus (status.ts)
 *   carpenter.readAreas(areas[])      -> { node, revision, areas: { name: INI text } }
 *   carpenter.replaceAreas(push)      -> PushAnswer, or a fault with the exact error
 *   carpenter.history()               -> [{ revision, at, by, from, note }]
 *
 * Version rule: mismatched firmware is the seeds' source of "weird errors",
 * so a receiver refuses a push from another carpd version, naming both,
 * unless the sender sets `force`. A different protocol number is refused
 * even when forced: the receiver could not be sure what the fields mean.
 */
import { FAULT, XmlRpcFault } from '../xmlrpc/faults.js';
import { badParam, expectStringMap, expectStruct, onlyMembers, optional } from '../xmlrpc/params.js';
import { newStruct, type XmlRpcStruct, type XmlRpcValue } from '../xmlrpc/value.js';

/** Bump when a method or field changes meaning. */
export const PROTOCOL_VERSION = 1;

export const CAPABILITIES = ['readAreas', 'replaceAreas', 'status', 'history', 'force', 'drift'] as const;

export const METHODS = {
  version: 'carpenter.version',
  status: 'carpenter.status',
  readAreas: 'carpenter.readAreas',
  replaceAreas: 'carpenter.replaceAreas',
  history: 'carpenter.history',
} as const;

/** carpenter.replaceAreas's one parameter. */
export interface PushRequest {
  /** The sender's config revision. */
  revision: number;
  /** Area name -> canonical INI text of its sections ('' empties the area). */
  areas: Record<string, string>;
  /** Sending node's name. */
  from: string;
  /** Who made the change on the sender (user, "rollback", ...). */
  by: string;
  carpdVersion: string;
  protocol: number;
  /** Apply despite a carpd version mismatch. */
  force: boolean;
}

/** The receiver's answer to a push it accepted. */
export interface PushAnswer {
  node: string;
  /** The receiver's revision now (unchanged when the areas were already equal). */
  revision: number;
  changed: boolean;
  carpdVersion: string;
  /** The ms the receiver spent: validate, render, check, apply, commit. */
  applyMs: number;
  /** E.g. "applied because the push was forced". */
  warnings: string[];
}

const PUSH_MEMBERS = ['revision', 'areas', 'from', 'by', 'carpdVersion', 'protocol', 'force'];

export function encodePush(p: PushRequest): XmlRpcStruct {
  const areas = newStruct();
  for (const [k, v] of Object.entries(p.areas)) areas[k] = v;
  return { revision: p.revision, areas, from: p.from, by: p.by, carpdVersion: p.carpdVersion, protocol: p.protocol, force: p.force };
}

/** Checks the struct a client sent; every problem is an invalidParams fault naming the member. */
export function decodePush(v: XmlRpcValue | undefined): PushRequest {
  const where = 'replaceAreas';
  const s = expectStruct(v, where);
  onlyMembers(s, PUSH_MEMBERS, where);
  for (const required of ['revision', 'areas', 'from', 'carpdVersion', 'protocol']) {
    if (s[required] === undefined) badParam(`${where}.${required}`, 'missing');
  }
  const revision = optional<number>(s, 'revision', 'int', 0, where);
  if (revision < 0) badParam(`${where}.revision`, 'must not be negative');
  return {
    revision,
    areas: expectStringMap(s.areas, `${where}.areas`),
    from: optional<string>(s, 'from', 'string', '', where),
    by: optional<string>(s, 'by', 'string', 'unknown', where).slice(0, 64),
    carpdVersion: optional<string>(s, 'carpdVersion', 'string', '', where).slice(0, 64),
    protocol: optional<number>(s, 'protocol', 'int', 0, where),
    force: optional<boolean>(s, 'force', 'boolean', false, where),
  };
}

export function encodeAnswer(a: PushAnswer): XmlRpcStruct {
  return { node: a.node, revision: a.revision, changed: a.changed, carpdVersion: a.carpdVersion, applyMs: a.applyMs, warnings: a.warnings };
}

export function decodeAnswer(v: XmlRpcValue): PushAnswer {
  const s = expectStruct(v, 'replaceAreas answer');
  const where = 'replaceAreas answer';
  return {
    node: optional<string>(s, 'node', 'string', '?', where),
    revision: optional<number>(s, 'revision', 'int', 0, where),
    changed: optional<boolean>(s, 'changed', 'boolean', false, where),
    carpdVersion: optional<string>(s, 'carpdVersion', 'string', '?', where),
    applyMs: optional<number>(s, 'applyMs', 'double', 0, where),
    warnings: optional<XmlRpcValue[]>(s, 'warnings', 'string[]', [], where) as string[],
  };
}

/** Throws the versionMismatch fault when the push must be refused; returns a warning when it was forced through. */
export function checkVersions(receiver: { node: string; carpdVersion: string }, push: PushRequest): string | undefined {
  if (push.protocol !== PROTOCOL_VERSION) {
    throw new XmlRpcFault(
      FAULT.versionMismatch,
      `${receiver.node} speaks config-sync protocol ${PROTOCOL_VERSION}, ${push.from} sent protocol ${push.protocol}: ` +
        'refused even with force (update both nodes to the same carpd)',
    );
  }
  if (push.carpdVersion === receiver.carpdVersion) return undefined;
  const what = `${receiver.node} runs carpd ${receiver.carpdVersion}, ${push.from} runs carpd ${push.carpdVersion}`;
  if (!push.force) {
    throw new XmlRpcFault(
      FAULT.versionMismatch,
      `${what}: refusing the push, mismatched versions can misread the config. ` + `Update ${receiver.node} to ${push.carpdVersion}, or push with --force to apply anyway.`,
    );
  }
  return `${what}: applied because the push was forced`;
}
