/**
 * The endpoint's TLS identity: an EC key and a self-signed certificate,
 * generated on the node's first start and kept in the state dir (the config
 * partition on an appliance), so the fingerprint peers have pinned survives
 * reboots and firmware updates.
 *
 *   <stateDir>/tls/xmlrpc.key   PKCS#8 PEM, mode 0600
 *   <stateDir>/tls/xmlrpc.crt   PEM
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store.js';
import { selfSignedCertificate } from './x509.js';

export interface TlsIdentity {
  key: string;
  cert: string;
  /** SHA-256 of the certificate, "AB:CD:...". */
  fingerprint: string;
  /** True when this call created it. */
  created: boolean;
}

export interface IdentityOptions {
  commonName: string;
  altNames: readonly string[];
  /** Told why an unusable stored identity was replaced. */
  warn?: (message: string) => void;
}

export async function ensureTlsIdentity(stateDir: string, opts: IdentityOptions): Promise<TlsIdentity> {
  const keyPath = join(stateDir, 'tls', 'xmlrpc.key');
  const certPath = join(stateDir, 'tls', 'xmlrpc.crt');
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8').catch(() => undefined), readFile(certPath, 'utf8').catch(() => undefined)]);
  if (key !== undefined && cert !== undefined) {
    try {
      const x509 = new X509Certificate(cert);
      if (x509.checkPrivateKey(createPrivateKey(key))) return { key, cert, fingerprint: x509.fingerprint256, created: false };
      opts.warn?.(`${certPath} does not belong to ${keyPath}: generating a new identity (peers must accept the new fingerprint)`);
    } catch (err) {
      opts.warn?.(`${certPath} is unreadable (${err instanceof Error ? err.message : String(err)}): generating a new identity (peers must accept the new fingerprint)`);
    }
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const newCert = selfSignedCertificate({ privateKey, commonName: opts.commonName, altNames: opts.altNames });
  const newKey = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // Key first: a power cut between the writes leaves a key without certificate, which the next start replaces.
  await writeFileAtomic(keyPath, newKey);
  await writeFileAtomic(certPath, newCert);
  return { key: newKey, cert: newCert, fingerprint: new X509Certificate(newCert).fingerprint256, created: true };
}
