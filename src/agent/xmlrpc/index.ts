/**
 * XML-RPC for carpd's config sync, written against the spec (xmlrpc.com/spec.md):
 *
 *   xml.ts        strict XML reader (no DTDs, no entities, limits)
 *   codec.ts      methodCall / methodResponse / fault <-> values
 *   value.ts      the value types;  params.ts  type checks with clear faults
 *   faults.ts     fault codes;      dispatch.ts  method table (sans-IO)
 *   auth.ts       basic auth + failed-login brake (sans-IO)
 *   x509.ts       self-signed certificate (DER by hand);  identity.ts  key + cert in the state dir
 *   server.ts     HTTPS endpoint;   client.ts  HTTPS client with fingerprint pinning
 */
export * from './faults.js';
export * from './value.js';
export * from './params.js';
export { parseXml, DEFAULT_XML_LIMITS, type XmlLimits, type XmlElement } from './xml.js';
export * from './codec.js';
export * from './dispatch.js';
export * from './auth.js';
export * from './x509.js';
export * from './identity.js';
export * from './server.js';
export * from './client.js';
