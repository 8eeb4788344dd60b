/** The hand-made certificate is a real one: Node, OpenSSL and the TLS identity file logic agree. */
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { certificateFingerprint, ensureTlsIdentity, normalizeFingerprint, selfSignedCertificate } from '../../src/agent/xmlrpc/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cpt-x509-'));
  dirs.push(d);
  return d;
}

describe('self-signed certificate (DER by hand)', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = selfSignedCertificate({ privateKey, commonName: 'carpd fw2 (cluster office)', altNames: ['172.16.1.2', '2001:db8::2', 'fw2'], notBefore: new Date(Date.UTC(2024, 0, 1)), notAfter: new Date(Date.UTC(2060, 0, 1)) });
  const cert = new X509Certificate(pem);

  it('parses and verifies with its own key', () => {
    assert.ok(cert.verify(createPublicKey(privateKey)));
    assert.ok(cert.checkPrivateKey(privateKey));
    assert.equal(cert.subject, 'O=carpenter\nCN=carpd fw2 (cluster office)');
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, false);
  });

  it('carries the SYNC addresses and the node name, and both time encodings', () => {
    assert.equal(cert.subjectAltName, 'IP Address:172.16.1.2, IP Address:2001:DB8:0:0:0:0:0:2, DNS:fw2');
    assert.equal(cert.checkIP('172.16.1.2'), '172.16.1.2');
    assert.equal(new Date(cert.validFrom).toISOString(), '2024-01-01T00:00:00.000Z'); // UTCTime
    assert.equal(new Date(cert.validTo).toISOString(), '2060-01-01T00:00:00.000Z'); // GeneralizedTime
  });

  it('is read the same way by the openssl CLI', { skip: spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? false : 'no openssl here' }, () => {
    const dir = tmp();
    writeFileSync(join(dir, 'c.pem'), pem);
    const text = spawnSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-text', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text.stdout, /CA:FALSE/);
    assert.match(text.stdout, /TLS Web Server Authentication/);
    assert.match(text.stdout, new RegExp(`sha256 Fingerprint=${cert.fingerprint256}`, 'i'));
    // A self-signed leaf trusted as its own anchor: what a pinning peer with the PEM does.
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'c.pem'), join(dir, 'c.pem')], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it('normalises fingerprints in every common spelling', () => {
    const fp = certificateFingerprint(pem);
    assert.equal(normalizeFingerprint(fp.toLowerCase()), fp);
    assert.equal(normalizeFingerprint(fp.replace(/:/g, '')), fp);
    assert.equal(normalizeFingerprint(`SHA256:${fp}`), fp);
    assert.equal(normalizeFingerprint('AB:CD'), undefined);
  });
});

describe('TLS identity in the state dir', () => {
  it('is created once, kept private, and reused', async () => {
    const dir = tmp();
    const a = await ensureTlsIdentity(dir, { commonName: 'carpd fw1', altNames: ['172.16.1.1'] });
    assert.ok(a.created);
    assert.equal(statSync(join(dir, 'tls', 'xmlrpc.key')).mode & 0o777, 0o600);
    const b = await ensureTlsIdentity(dir, { commonName: 'carpd fw1', altNames: ['172.16.1.1'] });
    assert.equal(b.created, false);
    assert.equal(b.fingerprint, a.fingerprint);
  });

  it('replaces a damaged identity, saying so', async () => {
    const dir = tmp();
    const a = await ensureTlsIdentity(dir, { commonName: 'x', altNames: [] });
    writeFileSync(join(dir, 'tls', 'xmlrpc.crt'), readFileSync(join(dir, 'tls', 'xmlrpc.crt'), 'utf8').slice(0, 100));
    const warnings: string[] = [];
    const b = await ensureTlsIdentity(dir, { commonName: 'x', altNames: [], warn: (m) => warnings.push(m) });
    assert.ok(b.created);
    assert.notEqual(b.fingerprint, a.fingerprint);
    assert.match(warnings.join('\n'), /unreadable.*peers must accept the new fingerprint/);
  });
});
