/**
 * A receiving node end to end without a network: a ConfigSync in a temp
 * state dir, driven through its XML-RPC method table with real XML (the
 * HTTPS transport is the rig's job), its firewall replaced by a recording
 * fake service. Covers accept, idempotence, drift and its repair, version
 * refusal, a service that cannot apply (rolled back, exact error), history,
 * diff, rollback and persistence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSite, type Site } from '../../src/config/index.js';
import { ConfigSync, PROTOCOL_VERSION, areaTexts, encodePush, formatSyncStatus, handleSyncCommand, type ServiceUnit } from '../../src/agent/configsync/index.js';
import { FAULT, encodeMethodCall, parseMethodResponse, type XmlRpcStruct, type XmlRpcValue } from '../../src/agent/xmlrpc/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const VERSION = '9.9.9';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Stands for nft: "applies" the web_ports members, refuses any config with port 6666 in it. */
function portsService(): ServiceUnit & { active: string; applies: number } {
  const unit = {
    name: 'firewall',
    active: '',
    applies: 0,
    prepare(site: Site) {
      const ports = site.aliases.find((a) => a.name === 'web_ports')?.members.join(',') ?? '';
      return {
        key: ports,
        check: async () => {},
        apply: async () => {
          unit.applies++;
          if (ports.includes('6666')) throw new Error('ruleset:42:20-23: Error: port 6666 refused on this node');
          unit.active = ports;
        },
      };
    },
  };
  return unit;
}

async function secondary() {
  const dir = mkdtempSync(join(tmpdir(), 'cpt-cs-'));
  dirs.push(dir);
  const service = portsService();
  const logs: string[] = [];
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`WARN ${m}`), error: (m: string) => logs.push(`ERROR ${m}`) };
  const { StateStore } = await import('../../src/agent/store.js');
  const { loadActiveConfig } = await import('../../src/agent/config-source.js');
  const factory = join(dir, 'factory.ini');
  (await import('node:fs')).writeFileSync(factory, EXAMPLE);
  const active = await loadActiveConfig(new StateStore(dir), factory, 'fw2');
  const cs = new ConfigSync({ node: 'fw2', stateDir: dir, log, active, firewall: false, services: [service], serve: false, carpdVersion: VERSION, peerRefreshMs: 0 });
  await cs.start();
  return { cs, dir, service, logs };
}

function pushOf(text: string, over: Record<string, XmlRpcValue> = {}): XmlRpcStruct {
  const site = parseSite(text, 'fw1.ini');
  return { ...encodePush({ revision: 5, areas: areaTexts(site, site.sync.areas) as Record<string, string>, from: 'fw1', by: 'admin', carpdVersion: VERSION, protocol: PROTOCOL_VERSION, force: false }), ...over };
}

async function call(cs: ConfigSync, method: string, params: XmlRpcValue[]) {
  return parseMethodResponse((await cs.methods.handle(encodeMethodCall(method, params), { remoteAddress: '172.16.1.1', user: 'admin' })).xml);
}

const withPorts = (ports: string) => EXAMPLE.replace('members = 80, 443, 8080-8081', `members = ${ports}`);

describe('a secondary receiving pushes', () => {
  it('applies a push, answers with its revision, records who/when/from, and is idempotent', async () => {
    const { cs, service } = await secondary();
    assert.equal(service.active, '80,443,8080-8081', 'services applied at start');
    const r = await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 443, 8443'))]);
    assert.ok(!r.fault, r.fault ? r.message : '');
    const answer = r.value as XmlRpcStruct;
    assert.equal(answer.revision, 2);
    assert.equal(answer.changed, true);
    assert.equal(service.active, '80,443,8443');
    const [latest] = await cs.history();
    assert.equal(latest?.revision, 2);
    assert.equal(latest?.by, 'admin');
    assert.equal(latest?.from, 'fw1 (172.16.1.1) revision 5');
    assert.equal(latest?.active, true);
    const again = await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 443, 8443'))]);
    assert.ok(!again.fault);
    assert.equal((again.value as XmlRpcStruct).changed, false);
    assert.equal((again.value as XmlRpcStruct).revision, 2);
    assert.equal(service.applies, 2, 'nothing re-applied for an equal push');
  });

  it('flags local edits of synced areas as drift until the next push replaces them', async () => {
    const { cs } = await secondary();
    await call(cs, 'carpenter.replaceAreas', [pushOf(EXAMPLE)]);
    assert.deepEqual(cs.status().drift, { detected: false, areas: [] });
    const local = await cs.applyLocal({ text: withPorts('80').replace('action = block', 'action = reject'), by: 'someone', from: 'cli' });
    assert.ok(local.ok);
    assert.deepEqual(cs.status().drift, { detected: true, areas: ['rules', 'aliases'] });
    assert.match(formatSyncStatus(cs.status()).join('\n'), /DRIFT: rules, aliases edited on this node since the last sync; the next sync replaces them/);
    const remote = await call(cs, 'carpenter.status', []);
    assert.ok(!remote.fault);
    assert.deepEqual({ ...((remote.value as XmlRpcStruct).drift as object) }, { detected: true, areas: ['rules', 'aliases'] });
    await call(cs, 'carpenter.replaceAreas', [pushOf(EXAMPLE)]);
    assert.deepEqual(cs.status().drift, { detected: false, areas: [] });
    assert.equal(cs.site.rules.find((r) => r.name === 'wan-default')?.action, 'block');
  });

  it('refuses another carpd version (fault 1) and stays as it was; applies it when forced', async () => {
    const { cs } = await secondary();
    const r = await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('81'), { carpdVersion: '10.0.0' })]);
    assert.ok(r.fault);
    assert.equal(r.code, FAULT.versionMismatch);
    assert.match(r.message, /fw2 runs carpd 9\.9\.9, fw1 runs carpd 10\.0\.0: refusing the push/);
    assert.equal(cs.revision, 1);
    const forced = await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('81'), { carpdVersion: '10.0.0', force: true })]);
    assert.ok(!forced.fault);
    assert.deepEqual((forced.value as XmlRpcStruct).warnings, ['fw2 runs carpd 9.9.9, fw1 runs carpd 10.0.0: applied because the push was forced']);
    assert.equal(cs.status().received?.forced, true);
  });

  it('a push a service cannot apply leaves the node on its previous config, with the exact error', async () => {
    const { cs, service, dir } = await secondary();
    await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 8443'))]);
    const stored = readFileSync(join(dir, 'site.ini'), 'utf8');
    const r = await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 6666'), { revision: 6 })]);
    assert.ok(r.fault);
    assert.equal(r.code, FAULT.applyFailed);
    assert.equal(r.message, "fw2 could not apply fw1's revision 6 and stays on its revision 2: firewall failed at apply:\nruleset:42:20-23: Error: port 6666 refused on this node\nnothing was changed");
    assert.equal(cs.revision, 2);
    assert.equal(service.active, '80,8443');
    assert.equal(readFileSync(join(dir, 'site.ini'), 'utf8'), stored);
    assert.equal((await cs.history()).length, 2);
  });

  it('answers unknown areas, wrong types and unknown methods with faults', async () => {
    const { cs } = await secondary();
    const unknown = await call(cs, 'carpenter.readAreas', [['rules', 'bogus']]);
    assert.ok(unknown.fault && unknown.code === FAULT.unknownArea);
    const typed = await call(cs, 'carpenter.readAreas', ['rules']);
    assert.ok(typed.fault && typed.code === FAULT.invalidParams);
    const none = await call(cs, 'carpenter.dropTables', []);
    assert.ok(none.fault && none.code === FAULT.methodNotFound);
    const ok = await call(cs, 'carpenter.readAreas', [['aliases']]);
    assert.ok(!ok.fault);
    assert.match(String(((ok.value as XmlRpcStruct).areas as XmlRpcStruct).aliases), /\[alias "web_ports"\]/);
    const v = await call(cs, 'carpenter.version', []);
    assert.ok(!v.fault);
    assert.equal((v.value as XmlRpcStruct).carpd, VERSION);
    assert.equal((v.value as XmlRpcStruct).protocol, PROTOCOL_VERSION);
    assert.equal(cs.revision, 1);
  });

  it('keeps history, diffs revisions, rolls back, and remembers what it received across restarts', async () => {
    const { cs, dir, service } = await secondary();
    await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 8443'))]);
    await call(cs, 'carpenter.replaceAreas', [pushOf(withPorts('80, 9443'), { revision: 6 })]);
    const diff = await handleSyncCommand(cs, { cmd: 'config.diff', revision: 2 });
    assert.ok(diff?.ok);
    assert.match(String(diff.diff), /^--- revision 2 \(.* by admin from fw1 \(172\.16\.1\.1\) revision 5\)\n\+\+\+ revision 3 /);
    assert.match(String(diff.diff), /\n-members = 80, 8443\n\+members = 80, 9443\n/);
    const back = await handleSyncCommand(cs, { cmd: 'config.rollback', revision: 2, by: 'ops' });
    assert.ok(back?.ok, JSON.stringify(back));
    assert.equal(back.revision, 4);
    assert.equal(service.active, '80,8443');
    const hist = await handleSyncCommand(cs, { cmd: 'config.history' });
    assert.deepEqual((hist?.revisions as { revision: number; from: string }[]).map((h) => [h.revision, h.from]), [
      [4, 'rollback to revision 2'],
      [3, 'fw1 (172.16.1.1) revision 6'],
      [2, 'fw1 (172.16.1.1) revision 5'],
      [1, 'factory'],
    ]);
    const missing = await handleSyncCommand(cs, { cmd: 'config.rollback', revision: 99 });
    assert.deepEqual(missing, { ok: false, error: 'no revision 99 on this node (kept: 1-4)', stage: 'validate' });
    assert.equal(await handleSyncCommand(cs, { cmd: 'carp.enable' }), undefined, 'other commands are left to the daemon');
    await cs.stop();
    const { loadActiveConfig } = await import('../../src/agent/config-source.js');
    const { StateStore } = await import('../../src/agent/store.js');
    const again = new ConfigSync({ node: 'fw2', stateDir: dir, log: { info() {}, warn() {}, error() {} }, active: await loadActiveConfig(new StateStore(dir), join(dir, 'factory.ini'), 'fw2'), firewall: false, serve: false, peerRefreshMs: 0 });
    await again.start();
    assert.equal(again.revision, 4);
    assert.equal(again.status().received?.peerRevision, 6);
    assert.deepEqual(again.status().drift, { detected: true, areas: ['aliases'] }, 'the rollback on a secondary is drift against what fw1 sent');
  });
});
