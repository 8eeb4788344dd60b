import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import Mustache from 'mustache';
import {
  ConfigErrors,
  SYNC_AREA_OF_SECTION,
  SYNC_AREAS,
  effectiveSkew,
  loadSite,
  nodeContext,
  parseSite,
  siteToIni,
  virtualMac,
  vrrpPriority,
  type Site,
} from '../../src/config/index.js';

// dist/test/unit/*.js -> repository root
const ROOT = new URL('../../../', import.meta.url);
const EXAMPLE_PATH = new URL('build/sites/ha-pair.ini', ROOT);
const EXAMPLE = readFileSync(EXAMPLE_PATH, 'utf8');

describe('example site build/sites/ha-pair.ini', () => {
  it('parses cleanly', async () => {
    const site = await loadSite(EXAMPLE_PATH.pathname);
    assert.equal(site.cluster.name, 'office');
    assert.equal(site.cluster.secondarySkewOffset, 100);
    assert.deepEqual(site.nodes.map((n) => [n.name, n.role]), [['fw1', 'primary'], ['fw2', 'secondary']]);
    assert.deepEqual(site.nodes[0]?.interfaces.WAN, ['203.0.113.2/24', '2001:db8:0:1::2/64']);
    assert.deepEqual(site.vips.map((v) => v.name), ['lan', 'lan6', 'wan']);
    assert.deepEqual(site.rules.map((r) => r.name), ['sync-peers', 'lan-out', 'lan6-out', 'web-in', 'wan-default']);
    assert.equal(site.sync.password, 'change-me-too');
  });

  it('documents every section type and key it uses in its header comment', () => {
    const header = EXAMPLE.split('\n').filter((l) => l.startsWith(';')).join('\n');
    const body = EXAMPLE.split('\n').filter((l) => !l.startsWith(';'));
    for (const line of body) {
      const section = /^\[([a-z]+)/.exec(line);
      if (section !== null) assert.match(header, new RegExp(`\\[${section[1]}[\\] ]`), line);
      const key = /^([A-Za-z_]+) =/.exec(line);
      if (key !== null) assert.match(header, new RegExp(`;\\s+(${key[1]}|WAN, LAN, SYNC, OPTn)\\b`), line);
    }
  });

  it('maps every synced section type to a known sync area', () => {
    assert.deepEqual(SYNC_AREA_OF_SECTION, {
      vip: 'vips',
      rule: 'rules',
      nat: 'nat',
      alias: 'aliases',
      dhcp: 'dhcp',
      dns: 'dns',
      user: 'users',
      gateway: 'routes',
    });
    for (const area of Object.values(SYNC_AREA_OF_SECTION)) assert.ok(SYNC_AREAS.includes(area));
  });
});

describe('skew, priority and virtual MAC', () => {
  const site = parseSite(EXAMPLE, 'ha-pair.ini');
  const vip = (name: string) => site.vips.find((v) => v.name === name)!;

  it('adds secondary_skew_offset on the secondary only', () => {
    assert.equal(effectiveSkew(site, 'wan', 'fw1'), 0);
    assert.equal(effectiveSkew(site, 'wan', 'fw2'), 100);
    assert.equal(effectiveSkew(site, vip('lan'), 'fw2'), 100);
    assert.throws(() => effectiveSkew(site, 'wan', 'fw9'), /no node "fw9"/);
  });

  it('honours a per-node skew_offset (trios)', () => {
    const trio = parseSite(EXAMPLE.replace('[gateway "upstream"]', '[node "fw3"]\nrole = secondary\nskew_offset = 150\nWAN = 203.0.113.4/24, 2001:db8:0:1::4/64\nLAN = 192.168.1.4/24, 2001:db8:0:2::4/64\nSYNC = 172.16.1.3/29\n\n[gateway "upstream"]').replaceAll('/30', '/29'), 'trio.ini');
    assert.equal(effectiveSkew(trio, 'wan', 'fw3'), 150);
    assert.equal(effectiveSkew(trio, 'wan', 'fw2'), 100);
  });

  it('maps skew to VRRPv3 priority as 254 - skew', () => {
    assert.equal(vrrpPriority(0), 254);
    assert.equal(vrrpPriority(100), 154);
    assert.equal(vrrpPriority(253), 1);
  });

  it('derives virtual MACs from the vhid', () => {
    assert.equal(virtualMac(vip('wan')), '00:00:5e:00:01:31'); // CARP, vhid 49
    assert.equal(virtualMac(vip('lan')), '00:00:5e:00:01:01');
    assert.equal(virtualMac(vip('lan6')), '00:00:5e:00:02:02'); // VRRP over IPv6
    assert.equal(virtualMac({ ...vip('lan'), protocol: 'vrrp3', vhid: 255 }), '00:00:5e:00:01:ff'); // VRRP over IPv4
  });
});

describe('nodeContext', () => {
  const site = parseSite(EXAMPLE, 'ha-pair.ini');

  it('describes the node, its peers and its interfaces', () => {
    const ctx = nodeContext(site, 'fw2');
    assert.equal(ctx.node.name, 'fw2');
    assert.equal(ctx.node.fqdn, 'fw2.office.example');
    assert.equal(ctx.isPrimary, false);
    assert.equal(ctx.node.isSecondary, true);
    assert.deepEqual(ctx.peers, [{ name: 'fw1', role: 'primary', isPrimary: true, syncAddress: '172.16.1.1', syncAddresses: ['172.16.1.1'] }]);
    assert.deepEqual(ctx.node.interfaces.map((i) => i.name), ['WAN', 'LAN', 'SYNC']);
    assert.deepEqual(ctx.node.interfacesByName.LAN?.addresses[1], {
      address: '2001:db8:0:2::3',
      prefix: 64,
      family: 6,
      isV4: false,
      isV6: true,
      cidr: '2001:db8:0:2::3/64',
      network: '2001:db8:0:2::/64',
      networkAddress: '2001:db8:0:2::',
    });
    assert.equal(ctx.node.interfacesByName.WAN?.ipv4[0]?.netmask, '255.255.255.0');
    assert.equal(ctx.sync.localAddress, '172.16.1.2');
    assert.deepEqual(ctx.sync.peerAddresses, ['172.16.1.1']);
    assert.equal(ctx.sync.pushes, false);
    assert.equal(ctx.sync.areaFlags.rules, true);
  });

  it('gives each VIP its effective skew, priority, interval and MAC for this node', () => {
    const fw1 = nodeContext(site, 'fw1');
    const fw2 = nodeContext(site, 'fw2');
    const wan1 = fw1.vips.find((v) => v.name === 'wan');
    const wan2 = fw2.vips.find((v) => v.name === 'wan');
    const lan6 = fw2.vips.find((v) => v.name === 'lan6');
    assert.equal(wan1?.skew, 0);
    assert.equal(wan2?.skew, 100);
    assert.equal(wan2?.baseSkew, 0);
    assert.equal(wan2?.mac, '00:00:5e:00:01:31');
    assert.equal(wan2?.vhidHex, '31');
    assert.equal(wan2?.intervalMs, 1000);
    assert.equal(wan2?.password, 'change-me');
    assert.equal(lan6?.isVrrp, true);
    assert.equal(lan6?.vrrpPriority, 154);
    assert.equal(lan6?.intervalCs, 20);
    assert.equal(lan6?.mac, '00:00:5e:00:02:02');
    assert.equal(fw1.sync.pushes, true);
  });

  it('resolves aliases, rules, NAT, DHCP and DNS to addresses', () => {
    const ctx = nodeContext(site, 'fw1');
    const web = ctx.rules.find((r) => r.name === 'web-in');
    assert.deepEqual(web?.destinationAddresses, ['192.168.1.10', '192.168.1.11', '2001:db8:0:2::10']);
    assert.deepEqual(web?.ports, ['80', '443', '8080-8081']);
    assert.equal(web?.sourceIsAny, true);
    assert.deepEqual(ctx.rules.find((r) => r.name === 'sync-peers')?.sourceAddresses, ['172.16.1.0/30']);
    assert.deepEqual(ctx.nat[0], {
      name: 'lan-out',
      interface: 'WAN',
      source: '192.168.1.0/24',
      sourceAddresses: ['192.168.1.0/24'],
      destination: 'any',
      destinationAddresses: [],
      destinationIsAny: true,
      vip: 'wan',
      translateAddress: '203.0.113.10',
      family: 4,
    });
    const dhcp = ctx.dhcp[0];
    assert.equal(dhcp?.gateway, '192.168.1.1');
    assert.deepEqual(dhcp?.dns, ['192.168.1.1']);
    assert.equal(dhcp?.subnet, '192.168.1.0/24');
    assert.deepEqual(dhcp?.peers.map((p) => [p.name, p.address, p.isSelf]), [['fw1', '192.168.1.2', true], ['fw2', '192.168.1.3', false]]);
    assert.deepEqual(ctx.dns[0]?.listenAddresses, ['192.168.1.2', '2001:db8:0:2::2', '192.168.1.1', '2001:db8:0:2::1']);
  });

  it('is plain JSON, merges extra keys, and renders in mustache', () => {
    const ctx = nodeContext(site, 'fw1', { build: { version: '1.2.3' } });
    assert.deepEqual(JSON.parse(JSON.stringify(ctx)), ctx);
    const text = Mustache.render('{{node.hostname}} {{#isPrimary}}primary{{/isPrimary}} {{build.version}}{{#vips}} {{name}}={{skew}}{{/vips}}', ctx);
    assert.equal(text, 'fw1 primary 1.2.3 lan=0 lan6=0 wan=0');
  });

  it('refuses an unknown node', () => {
    assert.throws(() => nodeContext(site, 'fw9'), /no node "fw9".*fw1, fw2/);
  });
});

describe('siteToIni', () => {
  const site = parseSite(EXAMPLE, 'ha-pair.ini');

  it('round-trips: parseSite(siteToIni(site)) equals site', () => {
    const text = siteToIni(site);
    const again: Site = parseSite(text, 'canonical.ini');
    assert.deepStrictEqual(again, site);
    assert.equal(siteToIni(again), text);
  });

  it('is canonical: section order and key order in the source do not matter', () => {
    // Move the [vip "wan"] section to the end of the file.
    const start = EXAMPLE.indexOf('[vip "wan"]');
    const end = EXAMPLE.indexOf('[vip "lan"]');
    const shuffled = EXAMPLE.slice(0, start) + EXAMPLE.slice(end) + '\n' + EXAMPLE.slice(start, end).replace('vhid = 49\nadvbase = 1', 'advbase = 1\nvhid = 49');
    assert.equal(siteToIni(parseSite(shuffled, 'shuffled.ini')), siteToIni(site));
  });

  it('keeps values with comment characters intact', () => {
    const tricky = EXAMPLE.replace('password = change-me-too', 'password = "p;a#s s"');
    const parsed = parseSite(tricky, 't.ini');
    assert.equal(parsed.sync.password, 'p;a#s s');
    assert.equal(parseSite(siteToIni(parsed), 'rt.ini').sync.password, 'p;a#s s');
  });

  it('keeps rule order, which is meaningful', () => {
    const text = siteToIni(site);
    assert.ok(text.indexOf('[rule "sync-peers"]') < text.indexOf('[rule "lan-out"]'));
    assert.ok(text.indexOf('[rule "web-in"]') < text.indexOf('[rule "wan-default"]'));
  });
});

describe('[vip] unicast', () => {
  it('defaults to multicast (key absent), reads yes/no, round-trips', () => {
    const plain = parseSite(EXAMPLE, 'ha-pair.ini');
    assert.equal(plain.vips.find((v) => v.name === 'lan')?.unicast, undefined);
    const text = EXAMPLE.replace('vhid = 1\npassword = change-me', 'vhid = 1\npassword = change-me\nunicast = yes');
    const site = parseSite(text, 'unicast.ini');
    assert.equal(site.vips.find((v) => v.name === 'lan')?.unicast, true);
    assert.equal(site.vips.find((v) => v.name === 'wan')?.unicast, undefined);
    const again = parseSite(siteToIni(site), 'rt.ini');
    assert.deepStrictEqual(again, site);
    assert.match(siteToIni(site), /\[vip "lan"\][^[]*unicast = yes/);
    const no = parseSite(EXAMPLE.replace('vhid = 1\npassword = change-me', 'vhid = 1\npassword = change-me\nunicast = no'), 'no.ini');
    assert.equal(no.vips.find((v) => v.name === 'lan')?.unicast, undefined);
  });

  it('refuses a value that is not a boolean', () => {
    const bad = EXAMPLE.replace('vhid = 1\npassword = change-me', 'vhid = 1\npassword = change-me\nunicast = sometimes');
    assert.throws(() => parseSite(bad, 'bad.ini'), /\[vip "lan"\] unicast/);
  });
});

describe('parseSite error reporting', () => {
  it('reports every problem at once', () => {
    const broken = EXAMPLE.replace('vhid = 49', 'vhid = 300').replace('advskew = 0\npassword = change-me', 'advskew = 255\npassword = change-me').replace('role = secondary', 'role = backup').replace('name = office', 'name = office\ncolour = blue');
    assert.throws(
      () => parseSite(broken, 'site.ini'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigErrors);
        const text = e.errors.map((x) => x.message).join('\n');
        assert.match(text, /\[vip "wan"\] vhid: 300 is out of range \(allowed: 1-255\)/);
        assert.match(text, /\[vip "wan"\] advskew: 255 is out of range \(allowed: 0-254\)/);
        assert.match(text, /\[node "fw2"\] role: "backup" is not a known value \(allowed: primary, secondary\)/);
        assert.match(text, /\[cluster\] colour: unknown key \(allowed: name, domain, secondary_skew_offset, preempt\)/);
        assert.ok(e.errors.length >= 4);
        return true;
      },
    );
  });
});
