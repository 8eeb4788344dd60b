/**
 * XML-RPC faults: the error half of the protocol.
 *
 * Codes for protocol-level problems follow the de-facto "Specification for
 * Fault Code Interoperability" (xmlrpc-epi, also used by Python's
 * SimpleXMLRPCServer), so foreign clients recognise them; carpd's own
 * application errors use small positive codes (FAULT below).
 */
export const FAULT = {
  /** Not well-formed XML, refused XML features (DOCTYPE, entities), limits exceeded. */
  parse: -32700,
  /** Well-formed XML that is not an XML-RPC methodCall. */
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** A parameter of the wrong type or shape for the method. */
  invalidParams: -32602,
  /** A bug or an unexpected failure inside carpd. */
  internal: -32603,

  /** The sender runs another carpd or protocol version (override with force). */
  versionMismatch: 1,
  /** An area name this node does not know or does not sync. */
  unknownArea: 2,
  /** The merged config does not validate on the receiver. */
  invalidConfig: 3,
  /** Rendering, checking or applying a service failed; the receiver rolled back. */
  applyFailed: 4,
  /** The push does not come from this cluster's primary, or reached the primary. */
  wrongDirection: 5,
  /** No such config revision (history, diff, rollback). */
  noRevision: 6,
} as const;

export type FaultCode = (typeof FAULT)[keyof typeof FAULT];

/** A fault as thrown by handlers and the parser, and as raised by the client. */
export class XmlRpcFault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'XmlRpcFault';
  }
}

export function isFault(err: unknown): err is XmlRpcFault {
  return err instanceof XmlRpcFault;
}
