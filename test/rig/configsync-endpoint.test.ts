/**
 * The XML-RPC endpoint as a foreign client sees it (root only): Python's
 * standard xmlrpc.client and http.client, run in fw1's namespace against
 * fw2's endpoint on 172.16.1.2:8443, pinning fw2's certificate.
 *
 *   - listMethods and carpenter.status over HTTPS with basic auth;
 *   - bound to the SYNC address only: nothing on fw2's LAN address or a VIP;
 *   - plain HTTP and unauthenticated calls get nothing usable;
 *   - wrong passwords get 401, then 429 (the right password too: it is not
 *     even checked while the source is braked);
 *   - malformed XML, huge bodies, entity expansion, wrong types, unknown
 *     methods and areas: a fault or an HTTP error each, and fw2 keeps
 *     running with its config and firewall unchanged.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rigSkipReason, withRig } from './netns.js';
import { PASSWORD, PROBE, SYNC_ADDRESS, probe, syncPair } from './configsync-rig.js';

const skip = rigSkipReason();
const FW2 = SYNC_ADDRESS.fw2;
const PORT = '8443';

type Answer = { ok?: boolean; value?: unknown; fault?: number | null; message?: string; http?: number; retryAfter?: string; status?: number; body?: string; error?: string; connected?: boolean };

describe('config sync endpoint: foreign clients and bad input', { skip: skip ?? false }, () => {
  test('Python xmlrpc.client over HTTPS with basic auth; SYNC address only; no plain HTTP; 401 then 429', async () => {
    await withRig('cs-endpoint', async (rig) => {
      const { fw1, fw2, topo } = await syncPair(rig);
      const py = (args: string[]) => probe(topo.fw1, args) as Promise<Answer>;
      const as = (user: string, password: string, method: string, params = '[]') => py(['call', FW2, PORT, fw2.certFile, user, password, method, params]);

      const methods = await as('admin', PASSWORD, 'system.listMethods');
      assert.deepEqual(methods, {
        ok: true,
        value: ['carpenter.history', 'carpenter.readAreas', 'carpenter.replaceAreas', 'carpenter.status', 'carpenter.version', 'system.listMethods', 'system.methodHelp', 'system.methodSignature'],
      });
      const status = await as('admin', PASSWORD, 'carpenter.status');
      const s = status.value as { node: string; role: string; revision: number; drift: { detected: boolean }; received: { from: string } };
      assert.equal(s.node, 'fw2');
      assert.equal(s.role, 'secondary');
      assert.equal(s.drift.detected, false);
      assert.equal(s.received.from, 'fw1');
      const version = (await as('admin', PASSWORD, 'carpenter.version')).value as { protocol: number; capabilities: string[] };
      assert.equal(version.protocol, 1);
      assert.ok(version.capabilities.includes('replaceAreas'));

      // Bound to the SYNC address alone.
      assert.match(await topo.fw2.succeed('ss', ['-Htln', 'sport', '=', ':8443']), /^LISTEN\s+\d+\s+\d+\s+172\.16\.1\.2:8443\s/);
      assert.equal((await topo.fw2.succeed('ss', ['-Htln', 'sport', '=', ':8443'])).trim().split('\n').length, 1);
      const viaLan = (await probe(topo.client, ['tcp', '192.168.1.3', PORT])) as Answer;
      assert.equal(viaLan.connected, false, 'nothing answers on fw2\'s LAN address');

      // Plain HTTP to the port: the TLS server answers nothing usable.
      const plain = await py(['plain', FW2, PORT]);
      assert.equal(plain.status, undefined, JSON.stringify(plain));
      assert.match(String(plain.error), /RemoteDisconnected|ConnectionReset|BadStatusLine|IncompleteRead/);

      // Without credentials: 401.
      assert.equal((await as('-', '-', 'system.listMethods')).http, 401);

      // A wrong password: 401 five times, then 429 with Retry-After ...
      const codes: (number | undefined)[] = [];
      for (let i = 0; i < 6; i++) codes.push((await as('admin', `guess-${i}`, 'carpenter.status')).http);
      assert.deepEqual(codes, [401, 401, 401, 401, 401, 429]);
      // ... and while braked, even the right password is refused unread.
      const braked = await as('admin', PASSWORD, 'carpenter.status');
      assert.equal(braked.http, 429);
      assert.ok(Number(braked.retryAfter) >= 1);
      assert.match(fw2.proc.output, /WARN: xml-rpc: wrong user or password source=172\.16\.1\.1 user=admin/);
      const stats = (await fw2.status()).endpoint.stats;
      assert.equal(stats?.authFailures, 5);
      assert.equal(stats?.rateLimited, 2);
      assert.ok((stats?.tlsErrors ?? 0) >= 1, 'the plain-HTTP attempt was a TLS error');
    });
  });

  test('malformed XML, huge bodies, entity expansion, wrong types, unknown methods and areas: faults or HTTP errors, config unchanged', async () => {
    await withRig('cs-badinput', async (rig) => {
      const { fw2, topo } = await syncPair(rig);
      const siteFile = join(fw2.stateDir, 'site.ini');
      const hash = () => createHash('sha256').update(readFileSync(siteFile)).digest('hex');
      const before = { site: hash(), revision: (await fw2.status()).revision, nft: await fw2.nft() };
      const raw = (body: string | Buffer, opts: string[] = []) => probe(topo.fw1, ['raw', FW2, PORT, fw2.certFile, 'admin', PASSWORD, ...opts], body.toString('latin1')) as Promise<Answer>;
      const rawBytes = async (body: Buffer, opts: string[] = []) => {
        // Bytes that are not UTF-8 travel through a file: the probe reads stdin as bytes.
        const file = topo.fw1.writeFile('body.bin', '');
        (await import('node:fs')).writeFileSync(file, body);
        return JSON.parse(await topo.fw1.succeed('sh', ['-c', `python3 "$0" raw ${FW2} ${PORT} "$1" admin "$2" < "$3"`, PROBE, fw2.certFile, PASSWORD, file])) as Answer;
      };
      const call = (method: string, params: string) => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
      const p = (v: string) => `<param><value>${v}</value></param>`;

      const cases: [string, () => Promise<Answer>, { status?: number; fault?: number }][] = [
        ['malformed XML', () => raw('<methodCall><methodName>carpenter.status</methodCall>'), { status: 200, fault: -32700 }],
        ['not XML at all', () => raw('hello'), { status: 200, fault: -32700 }],
        ['billion laughs', () => raw('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><methodCall><methodName>&b;</methodName></methodCall>'), { status: 200, fault: -32700 }],
        ['external entity', () => raw('<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/shadow">]><methodCall><methodName>carpenter.readAreas</methodName><params><param><value><array><data><value>&x;</value></data></array></value></param></params></methodCall>'), { status: 200, fault: -32700 }],
        ['an undeclared entity', () => raw(call('carpenter.readAreas', p('<array><data><value>&x;</value></data></array>'))), { status: 200, fault: -32700 }],
        ['deep nesting', () => raw(call('carpenter.readAreas', p(`${'<array><data><value>'.repeat(5000)}x${'</value></data></array>'.repeat(5000)}`))), { status: 200, fault: -32700 }],
        ['a 3 MiB body', () => raw(call('carpenter.readAreas', p(`<string>${'x'.repeat(3 * 1024 * 1024)}</string>`))), { status: 413 }],
        ['unknown method', () => raw(call('carpenter.dropAll', '')), { status: 200, fault: -32601 }],
        ['wrong parameter type', () => raw(call('carpenter.readAreas', p('<struct></struct>'))), { status: 200, fault: -32602 }],
        ['wrong member type in a push', () => raw(call('carpenter.replaceAreas', p('<struct><member><name>revision</name><value><string>9</string></value></member></struct>'))), { status: 200, fault: -32602 }],
        ['a push with an area of the wrong type', () => raw(call('carpenter.replaceAreas', p('<struct><member><name>revision</name><value><int>9</int></value></member><member><name>areas</name><value><struct><member><name>rules</name><value><int>1</int></value></member></struct></value></member><member><name>from</name><value>fw1</value></member><member><name>carpdVersion</name><value>x</value></member><member><name>protocol</name><value><int>1</int></value></member></struct>'))), { status: 200, fault: -32602 }],
        ['unknown area (read)', () => raw(call('carpenter.readAreas', p('<array><data><value>bogus</value></data></array>'))), { status: 200, fault: 2 }],
        ['wrong int', () => raw(call('carpenter.readAreas', p('<int>99999999999</int>'))), { status: 200, fault: -32600 }],
        ['GET', () => raw('', ['--method=GET']), { status: 405 }],
        ['another path', () => raw(call('carpenter.status', ''), ['--path=/admin']), { status: 404 }],
        ['another content type', () => raw(call('carpenter.status', ''), ['--type=application/json']), { status: 415 }],
        ['bytes that are not UTF-8', () => rawBytes(Buffer.from([0x3c, 0x6d, 0xff, 0xfe, 0x3e])), { status: 200, fault: -32700 }],
      ];
      for (const [what, send, want] of cases) {
        const a = await send();
        assert.equal(a.status, want.status, `${what}: ${JSON.stringify(a)}`);
        if (want.fault !== undefined) assert.equal(a.fault, want.fault, `${what}: ${JSON.stringify(a)}`);
      }

      // A push naming an unknown area is refused before anything is touched.
      const status = (await fw2.status()).carpdVersion;
      const push = `<struct><member><name>revision</name><value><int>9</int></value></member><member><name>areas</name><value><struct><member><name>firewall_bypass</name><value></value></member></struct></value></member><member><name>from</name><value>fw1</value></member><member><name>by</name><value>mallory</value></member><member><name>carpdVersion</name><value>${status}</value></member><member><name>protocol</name><value><int>1</int></value></member></struct>`;
      const unknownArea = await raw(call('carpenter.replaceAreas', p(push)));
      assert.equal(unknownArea.fault, 2, JSON.stringify(unknownArea));
      assert.match(String(unknownArea.message), /unknown area "firewall_bypass"/);
      // ... as is one that smuggles a [sync] section into an area.
      const smuggle = push.replace('<name>firewall_bypass</name><value></value>', '<name>rules</name><value>[sync]\npassword = mine\n</value>');
      const smuggled = await raw(call('carpenter.replaceAreas', p(smuggle)));
      assert.equal(smuggled.fault, 3, JSON.stringify(smuggled));

      // fw2 kept running, answers, and nothing changed.
      assert.ok(fw2.proc.running);
      const after = await probe(topo.fw1, ['call', FW2, PORT, fw2.certFile, 'admin', PASSWORD, 'carpenter.version']);
      assert.equal((after as Answer).ok, true);
      assert.equal(hash(), before.site);
      assert.equal((await fw2.status()).revision, before.revision);
      assert.equal(await fw2.nft(), before.nft);
    });
  });
});
