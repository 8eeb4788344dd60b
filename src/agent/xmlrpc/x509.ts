/**
 * A self-signed X.509 certificate for the XML-RPC endpoint, made with
 * node:crypto alone.
 *
 * Node can create keys and signatures but not certificates. Rather than ship
 * the openssl CLI in the image for this one job (and parse its output), this
 * writes the few DER structures a TLS server certificate needs (RFC 5280
 * 4.1): a version 3 TBSCertificate with an ECDSA P-256 key, signed with
 * ecdsa-with-SHA256. The peer does not trust it through a CA anyway: it pins
 * its SHA-256 fingerprint (see configsync/pins.ts), so all the certificate
 * has to do is carry the key and be accepted by TLS stacks (Node, OpenSSL,
 * Python), which the unit tests check.
 */
import { X509Certificate, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

// ---- DER ------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

/** A positive INTEGER from big-endian bytes (a leading 0 keeps the sign bit clear). */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1);
  if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** BIT STRING with no unused bits. */
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function name(commonName: string, organization: string): Buffer {
  return seq(set(seq(oid(OID.organization), utf8(organization))), set(seq(oid(OID.commonName), utf8(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  // IPv6: expand "::" and write 8 groups of 16 bits.
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from([parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])));
}

function altNames(names: readonly string[]): Buffer {
  // GeneralName: [2] dNSName IA5String, [7] iPAddress OCTET STRING (both implicit)
  return seq(...names.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')))));
}

// ---- the certificate -----------------------------------------------------------------

export interface CertificateRequest {
  /** An EC P-256 private key. */
  privateKey: KeyObject;
  commonName: string;
  organization?: string;
  /** Addresses and DNS names the endpoint answers on. */
  altNames?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
}

/** A self-signed certificate as PEM. */
export function selfSignedCertificate(req: CertificateRequest): string {
  const publicKey = createPublicKey(req.privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const now = Date.now();
  // A day of slack for a peer whose clock runs behind; 20 years, since nothing renews it.
  const notBefore = req.notBefore ?? new Date(now - 86_400_000);
  const notAfter = req.notAfter ?? new Date(now + 20 * 365 * 86_400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const subject = name(req.commonName, req.organization ?? 'carpenter');
  const extensions = [
    extension(OID.basicConstraints, true, seq()),
    // digitalSignature (bit 0): the ECDHE handshake signs with this key.
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([7, 0x80]))),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    ...(req.altNames !== undefined && req.altNames.length > 0 ? [extension(OID.subjectAltName, false, altNames(req.altNames))] : []),
  ];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    subject, // issuer: self-signed
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, req.privateKey); // DER-encoded ECDSA signature
  const der = seq(tbs, algorithm, bits(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  // Parse it back: a mistake in the encoder fails here, on the node that made it.
  const check = new X509Certificate(pem);
  if (!check.verify(publicKey)) throw new Error('generated certificate does not verify');
  return pem;
}

/** "AB:CD:..." (upper-case hex pairs), as Node's fingerprint256 and `openssl x509 -fingerprint -sha256` print it. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Accepts a fingerprint with or without colons, any case, optionally prefixed "SHA256:"; undefined if it is not 32 bytes of hex. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replace(/^sha-?256[:=]?/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}
