/**
 * The XML-RPC method table of a node, bound to its ConfigSync. Parameter
 * shapes are checked here (and in protocol.ts for the push), so the
 * ConfigSync methods receive typed values only.
 */
import { Dispatcher, type CallContext } from '../xmlrpc/dispatch.js';
import { expectStringArray } from '../xmlrpc/params.js';
import type { XmlRpcStruct, XmlRpcValue } from '../xmlrpc/value.js';
import { METHODS, decodePush, encodeAnswer, type PushAnswer, type PushRequest } from './protocol.js';

/** What the methods need from a node (ConfigSync implements it). */
export interface SyncEndpoint {
  versionInfo(): XmlRpcStruct;
  statusInfo(): XmlRpcStruct;
  readAreas(names: string[]): XmlRpcStruct;
  receive(push: PushRequest, ctx: CallContext): Promise<PushAnswer>;
  historyInfo(): Promise<XmlRpcValue[]>;
}

export function syncMethods(node: SyncEndpoint): Dispatcher {
  const d = new Dispatcher();
  d.register(METHODS.version, {
    help: 'carpd version, config-sync protocol version and capabilities of this node.',
    returns: 'struct',
    params: [],
    handler: () => node.versionInfo(),
  });
  d.register(METHODS.status, {
    help: 'Config revision, drift of synced areas, last sync received, and (on the primary) each peer.',
    returns: 'struct',
    params: [],
    handler: () => node.statusInfo(),
  });
  d.register(METHODS.readAreas, {
    help: 'The sections of the named sync areas as INI text (an empty list: every synced area).',
    returns: 'struct',
    params: [{ name: 'areas', type: 'string[]' }],
    handler: ([areas]) => node.readAreas(expectStringArray(areas, 'areas')),
  });
  d.register(METHODS.replaceAreas, {
    help:
      'Replace sync areas with the primary\'s: { revision, areas: { name: INI }, from, by, carpdVersion, protocol, force? }. ' +
      'Validated, applied to every service atomically, rolled back on failure; the fault carries the exact error.',
    returns: 'struct',
    params: [{ name: 'push', type: 'struct' }],
    handler: async ([push], ctx) => encodeAnswer(await node.receive(decodePush(push), ctx)),
  });
  d.register(METHODS.history, {
    help: 'The config revisions this node keeps, newest first: revision, at, by, from, note.',
    returns: 'array',
    params: [],
    handler: () => node.historyInfo(),
  });
  return d;
}
