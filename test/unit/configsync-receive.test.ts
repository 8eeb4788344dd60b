/**
 * The receiver's decision (planReceive) and the push message: direction,
 * version refusal and force, unknown or unsynced areas, malformed area text,
 * and a merge that does not validate on this node.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite, type Site } from '../../src/config/index.js';
import { PROTOCOL_VERSION, areaTexts, decodePush, encodePush, planReceive, type PushRequest } from '../../src/agent/configsync/index.js';
import { FAULT, XmlRpcFault } from '../../src/agent/xmlrpc/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const site = (text = EXAMPLE): Site => parseSite(text, 'site.ini');

function push(over: Partial<PushRequest> = {}, from: Site = site()): PushRequest {
  return { revision: 7, areas: areaTexts(from, from.sync.areas) as Record<string, string>, from: 'fw1', by: 'admin', carpdVersion: '1.2.0', protocol: PROTOCOL_VERSION, force: false, ...over };
}

function faultOf(fn: () => unknown): XmlRpcFault {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof XmlRpcFault, String(err));
    return err;
  }
  assert.fail('expected a fault');
}

const receive = (p: PushRequest, local: Site = site(), version = '1.2.0', self = 'fw2') => planReceive({ self, site: local, carpdVersion: version, push: p });

describe('receiving a push', () => {
  it('accepts the primary\'s areas and returns the canonical merged site', () => {
    const changed = site(EXAMPLE.replace('members = 80, 443, 8080-8081', 'members = 80, 443, 8443'));
    const plan = receive(push({}, changed));
    assert.deepEqual(plan.areas, ['rules', 'nat', 'aliases', 'vips', 'dhcp', 'dns', 'users', 'routes']);
    assert.deepEqual(plan.site.aliases.find((a) => a.name === 'web_ports')?.members, ['80', '443', '8443']);
    assert.match(plan.text, /^\[cluster\]\n/);
    assert.deepEqual(plan.warnings, []);
  });

  it('refuses pushes from anyone but the primary, and pushes to the primary', () => {
    const f = faultOf(() => receive(push({ from: 'fw3' })));
    assert.equal(f.code, FAULT.wrongDirection);
    assert.match(f.message, /push from "fw3", but the primary of cluster office is fw1/);
    const g = faultOf(() => receive(push({ from: 'fw2' }), site(), '1.2.0', 'fw1'));
    assert.match(g.message, /fw1 is the primary of cluster office: config flows from it, it takes no pushes/);
  });

  it('refuses another carpd version with a clear message, unless forced', () => {
    const f = faultOf(() => receive(push({ carpdVersion: '1.3.0' })));
    assert.equal(f.code, FAULT.versionMismatch);
    assert.equal(f.message, 'fw2 runs carpd 1.2.0, fw1 runs carpd 1.3.0: refusing the push, mismatched versions can misread the config. Update fw2 to 1.3.0, or push with --force to apply anyway.');
    const forced = receive(push({ carpdVersion: '1.3.0', force: true }));
    assert.deepEqual(forced.warnings, ['fw2 runs carpd 1.2.0, fw1 runs carpd 1.3.0: applied because the push was forced']);
  });

  it('refuses another protocol even when forced', () => {
    const f = faultOf(() => receive(push({ protocol: PROTOCOL_VERSION + 1, force: true })));
    assert.equal(f.code, FAULT.versionMismatch);
    assert.match(f.message, /refused even with force/);
  });

  it('refuses unknown areas and areas this node does not sync', () => {
    const f = faultOf(() => receive(push({ areas: { firewall: '' } })));
    assert.equal(f.code, FAULT.unknownArea);
    assert.match(f.message, /unknown area "firewall" \(areas: rules, nat, aliases/);
    const onlyRules = site(EXAMPLE.replace('areas = rules, nat, aliases, vips, dhcp, dns, users, routes', 'areas = rules, aliases'));
    const g = faultOf(() => receive(push({ areas: { users: '' } }), onlyRules));
    assert.equal(g.message, 'area users is not synced on fw2 ([sync] areas = rules, aliases)');
  });

  it('refuses sections smuggled into an area', () => {
    const f = faultOf(() => receive(push({ areas: { rules: '[sync]\npassword = mine-now\n' } })));
    assert.equal(f.code, FAULT.invalidConfig);
    assert.match(f.message, /fw1:rules:1: \[sync\] does not belong to area rules/);
  });

  it('refuses a merge that does not validate here, naming the section, and changes nothing', () => {
    // fw1's copy of the site has an OPT1 port that fw2's does not: a rule on OPT1 cannot work on fw2.
    const withOpt1 = EXAMPLE.replace('SYNC = 172.16.1.1/30', 'SYNC = 172.16.1.1/30\nOPT1 = 10.0.0.1/24').replace('SYNC = 172.16.1.2/30', 'SYNC = 172.16.1.2/30\nOPT1 = 10.0.0.2/24');
    const primary = site(withOpt1.replace('[rule "wan-default"]', '[rule "dmz"]\ninterface = OPT1\naction = pass\n\n[rule "wan-default"]'));
    const local = site();
    const before = JSON.stringify(local);
    const f = faultOf(() => receive(push({}, primary), local));
    assert.equal(f.code, FAULT.invalidConfig);
    assert.match(f.message, /^fw1's revision 7 does not validate on fw2; nothing was changed:\n\[rule "dmz"\] interface: interface OPT1 is not defined on any node \(allowed: WAN, LAN, SYNC\)/);
    assert.equal(JSON.stringify(local), before);
  });

  it('checks references across areas against what the node will run', () => {
    const f = faultOf(() => receive(push({ areas: { aliases: '' } })));
    assert.match(f.message, /\[rule "lan-out"\] source: .*inside/);
  });
});

describe('the push message', () => {
  it('round-trips and checks every member', () => {
    const p = push();
    assert.deepEqual({ ...decodePush(encodePush(p)), areas: { ...decodePush(encodePush(p)).areas } }, p);
    assert.throws(() => decodePush({ ...encodePush(p), froce: true }), /replaceAreas\.froce: unknown member/);
    assert.throws(() => decodePush({ ...encodePush(p), revision: 'x' }), /replaceAreas\.revision: expected int, got string/);
    assert.throws(() => decodePush({ ...encodePush(p), areas: { rules: 5 } }), /replaceAreas\.areas\.rules: expected string, got int/);
    const { carpdVersion: _v, ...noVersion } = encodePush(p);
    assert.throws(() => decodePush(noVersion), /replaceAreas\.carpdVersion: missing/);
    assert.throws(() => decodePush('x'), (e: unknown) => e instanceof XmlRpcFault && e.code === FAULT.invalidParams);
  });
});

describe('where a push comes from', () => {
  it('must be the primary\'s SYNC address when the source is known', () => {
    assert.ok(planReceive({ self: 'fw2', site: site(), carpdVersion: '1.2.0', push: push(), sourceAddress: '172.16.1.1' }));
    assert.ok(planReceive({ self: 'fw2', site: site(), carpdVersion: '1.2.0', push: push(), sourceAddress: '::ffff:172.16.1.1' }));
    const f = faultOf(() => planReceive({ self: 'fw2', site: site(), carpdVersion: '1.2.0', push: push(), sourceAddress: '192.168.1.2' }));
    assert.equal(f.code, FAULT.wrongDirection);
    assert.equal(f.message, "push claiming to be fw1 came from 192.168.1.2, not from fw1's SYNC address (172.16.1.1): refused");
  });
});
