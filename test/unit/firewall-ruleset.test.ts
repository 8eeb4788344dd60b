/**
 * The nftables ruleset rendered from build/sites/ha-pair.ini (and variants).
 * The namespace rig (test/rig/firewall-nft.test.ts) loads the same text into
 * a real kernel; these tests pin down what the text says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite, siteToIni, type Site } from '../../src/config/index.js';
import { renderConntrackdConf } from '../../src/agent/statesync/index.js';
import { ForwardError, TABLE, oneToOne, portForward, renderRuleset, vipDeviceName } from '../../src/agent/firewall/index.js';

const ROOT = new URL('../../../', import.meta.url);
const EXAMPLE = readFileSync(new URL('build/sites/ha-pair.ini', ROOT), 'utf8');
const site = parseSite(EXAMPLE);
const fw1 = renderRuleset(site, 'fw1');
const fw2 = renderRuleset(site, 'fw2');

/** The rule lines of `chain NAME { ... }` (or `set NAME`), comments and blanks dropped. */
function body(text: string, kind: 'chain' | 'set', name: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${kind} ${name} {`);
  assert.ok(start >= 0, `no ${kind} ${name}`);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === '}') break;
    if (l.trim() !== '' && !l.trim().startsWith('#')) out.push(l.trim());
  }
  return out;
}

function chains(text: string): string[] {
  return [...text.matchAll(/^\tchain (\S+) \{$/gm)].map((m) => m[1] ?? '');
}

function withExtra(extra: string): Site {
  return parseSite(`${EXAMPLE}\n${extra}\n`);
}

describe('renderRuleset: structure', () => {
  it('replaces only its own table, in one transaction', () => {
    const lines = fw1.split('\n');
    const declare = lines.indexOf(`table inet ${TABLE}`);
    const del = lines.indexOf(`delete table inet ${TABLE}`);
    const create = lines.indexOf(`table inet ${TABLE} {`);
    assert.ok(declare >= 0 && declare < del && del < create, 'declare, delete, re-create');
    assert.ok(!/flush ruleset/.test(fw1.replace(/^#.*$/gm, '')));
    assert.equal([...fw1.matchAll(/^table /gm)].length, 2, 'one table, declared then defined');
  });

  it('has the filter, sync, advert, service, per-interface and NAT chains', () => {
    assert.deepEqual(chains(fw1), ['input', 'forward', 'output', 'sync_in', 'sync_out', 'vrrp_in', 'services_in', 'from_WAN', 'from_LAN', 'dstnat', 'srcnat']);
    assert.equal(body(fw1, 'chain', 'input')[0], 'type filter hook input priority filter; policy drop;');
    assert.equal(body(fw1, 'chain', 'forward')[0], 'type filter hook forward priority filter; policy drop;');
    assert.equal(body(fw1, 'chain', 'output')[0], 'type filter hook output priority filter; policy accept;');
    assert.equal(body(fw1, 'chain', 'dstnat')[0], 'type nat hook prerouting priority dstnat; policy accept;');
    assert.equal(body(fw1, 'chain', 'srcnat')[0], 'type nat hook postrouting priority srcnat; policy accept;');
  });

  it('accepts established/related and drops invalid before any rule', () => {
    for (const chain of ['input', 'forward']) {
      const b = body(fw1, 'chain', chain);
      const est = b.indexOf('ct state established,related accept');
      const inv = b.indexOf('ct state invalid drop');
      const firstJump = b.findIndex((l) => l.includes('jump from_'));
      assert.ok(est > 0 && est < inv && inv < firstJump, chain);
    }
  });

  it('matches an interface as the port plus its VIP macvlans', () => {
    assert.match(fw1, /^define if_WAN = \{ "WAN", "WAN-vh49" \}$/m);
    assert.match(fw1, /^define if_LAN = \{ "LAN", "LAN-vh1", "LAN-vh2" \}$/m);
    assert.match(fw1, /^define if_SYNC = \{ "SYNC" \}$/m);
    assert.equal(vipDeviceName({ interface: 'OPT12', vhid: 255 }), 'OPT12-vh255');
    const custom = renderRuleset(site, 'fw1', { vipDevice: (v) => `vip${v.vhid}` });
    assert.match(custom, /^define if_LAN = \{ "LAN", "vip1", "vip2" \}$/m);
  });

  it('is deterministic and depends only on the site', () => {
    assert.equal(renderRuleset(site, 'fw1'), fw1);
    assert.equal(renderRuleset(parseSite(siteToIni(site)), 'fw1'), fw1);
    assert.notEqual(fw1, fw2);
  });

  it('refuses an unknown node', () => {
    assert.throws(() => renderRuleset(site, 'fw9'), /no node "fw9"/);
  });
});

describe('renderRuleset: aliases and rules', () => {
  it('turns aliases into typed sets, splitting mixed host aliases by family', () => {
    assert.deepEqual(body(fw1, 'set', 'web_servers-v4'), ['type ipv4_addr', 'elements = { 192.168.1.10, 192.168.1.11 }']);
    assert.deepEqual(body(fw1, 'set', 'web_servers-v6'), ['type ipv6_addr', 'elements = { 2001:db8:0:2::10 }']);
    assert.deepEqual(body(fw1, 'set', 'inside-v4'), ['type ipv4_addr', 'flags interval', 'auto-merge', 'elements = { 192.168.1.0/24 }']);
    assert.deepEqual(body(fw1, 'set', 'web_ports'), ['type inet_service', 'flags interval', 'auto-merge', 'elements = { 80, 443, 8080-8081 }']);
    assert.ok(!fw1.includes('inside-v6'), 'no empty family set');
  });

  it('keeps file order, first match wins, default deny last', () => {
    assert.deepEqual(body(fw1, 'chain', 'from_WAN'), [
      'ip daddr @web_servers-v4 tcp dport @web_ports counter log prefix "[pass web-in] " accept comment "rule web-in"',
      'ip6 daddr @web_servers-v6 tcp dport @web_ports counter log prefix "[pass web-in] " accept comment "rule web-in"',
      'counter drop comment "rule wan-default"',
      'counter drop comment "default deny on WAN"',
    ]);
    assert.deepEqual(body(fw1, 'chain', 'from_LAN'), [
      'ip saddr @inside-v4 counter accept comment "rule lan-out: the LAN reaches anything"',
      'ip6 saddr 2001:db8:0:2::/64 counter accept comment "rule lan6-out"',
      'counter drop comment "default deny on LAN"',
    ]);
  });

  it('filters traffic entering an interface whether it is for the firewall or routed', () => {
    for (const chain of ['input', 'forward']) {
      const b = body(fw1, 'chain', chain);
      assert.ok(b.includes('iifname $if_WAN jump from_WAN'));
      assert.ok(b.includes('iifname $if_LAN jump from_LAN'));
      assert.ok(!b.some((l) => l.includes('from_SYNC')));
    }
  });

  it('renders self, vip:, net:, protocols, port lists and reject', () => {
    const s = withExtra(`
[rule "to-self"]
interface = LAN
action = reject
protocol = tcp/udp
destination = self
port = 25, 20-24, 19
[rule "ping-vip"]
interface = LAN
action = pass
protocol = icmp
destination = vip:lan
[rule "from-wan-net"]
interface = LAN
action = block
source = net:WAN
[rule "v6-only-icmp"]
interface = LAN
action = pass
protocol = icmp
source = 2001:db8:0:2::/64
[rule "any-reject"]
interface = LAN
action = reject`);
    const lan = body(renderRuleset(s, 'fw1'), 'chain', 'from_LAN');
    assert.deepEqual(lan.slice(2), [
      'ip daddr @cpt-self-v4 tcp dport 19-25 counter reject with tcp reset comment "rule to-self"',
      'ip daddr @cpt-self-v4 udp dport 19-25 counter reject with icmpx type port-unreachable comment "rule to-self"',
      'ip6 daddr @cpt-self-v6 tcp dport 19-25 counter reject with tcp reset comment "rule to-self"',
      'ip6 daddr @cpt-self-v6 udp dport 19-25 counter reject with icmpx type port-unreachable comment "rule to-self"',
      'ip daddr 192.168.1.1 meta l4proto icmp counter accept comment "rule ping-vip"',
      'ip saddr 203.0.113.0/24 counter drop comment "rule from-wan-net"',
      'ip6 saddr 2001:db8:0:1::/64 counter drop comment "rule from-wan-net"',
      'meta l4proto tcp counter reject with tcp reset comment "rule any-reject"',
      'counter reject with icmpx type port-unreachable comment "rule any-reject"',
      'counter drop comment "default deny on LAN"',
    ]);
    assert.match(renderRuleset(s, 'fw1'), /# \[rule "v6-only-icmp"\] never matches here/);
    assert.deepEqual(body(renderRuleset(s, 'fw1'), 'set', 'cpt-self-v4'), ['type ipv4_addr', 'elements = { 172.16.1.1, 192.168.1.1, 192.168.1.2, 203.0.113.2, 203.0.113.10 }']);
    assert.deepEqual(body(renderRuleset(s, 'fw2'), 'set', 'cpt-self-v4'), ['type ipv4_addr', 'elements = { 172.16.1.2, 192.168.1.1, 192.168.1.3, 203.0.113.3, 203.0.113.10 }']);
  });

  it('keeps descriptions printable and short in comments', () => {
    const s = withExtra(`[rule "quoted"]\ninterface = LAN\naction = pass\ndescription = say "hi" ${'x'.repeat(200)}`);
    const line = body(renderRuleset(s, 'fw1'), 'chain', 'from_LAN').find((l) => l.includes('rule quoted')) ?? '';
    const c = /comment "([^"]*)"$/.exec(line)?.[1] ?? '';
    assert.ok(c.startsWith("rule quoted: say 'hi' x"));
    assert.ok(Buffer.byteLength(c) <= 127);
  });
});

describe('renderRuleset: the sync link', () => {
  it('passes exactly conntrackd, XML-RPC, CARP/VRRP and ping between the two SYNC addresses', () => {
    assert.deepEqual(body(fw1, 'chain', 'sync_in'), [
      'ip saddr 172.16.1.2 ip daddr 172.16.1.1 udp dport 3780 accept comment "conntrackd FTFW state sync from fw2"',
      'ip saddr 172.16.1.2 ip daddr 172.16.1.1 tcp dport 8443 accept comment "XML-RPC config sync from fw2"',
      'ip saddr 172.16.1.2 meta l4proto 112 ip ttl 255 accept comment "CARP/VRRP from fw2"',
      'ip saddr 172.16.1.2 ip daddr 172.16.1.1 icmp type echo-request accept comment "ping from fw2 (link check)"',
      'counter drop comment "nothing else enters on the sync link"',
    ]);
    assert.deepEqual(body(fw2, 'chain', 'sync_in').slice(0, 2), [
      'ip saddr 172.16.1.1 ip daddr 172.16.1.2 udp dport 3780 accept comment "conntrackd FTFW state sync from fw1"',
      'ip saddr 172.16.1.1 ip daddr 172.16.1.2 tcp dport 8443 accept comment "XML-RPC config sync from fw1"',
    ]);
    const out = body(fw1, 'chain', 'sync_out');
    assert.ok(out.includes('ip saddr 172.16.1.1 ip daddr 172.16.1.2 udp dport 3780 accept comment "conntrackd FTFW state sync to fw2"'));
    assert.equal(out.at(-1), 'counter drop comment "nothing else leaves on the sync link"');
    assert.ok(body(fw1, 'chain', 'output').includes('oifname $if_SYNC jump sync_out'));
  });

  it('does not render the site\'s broad [rule] on SYNC, and says so', () => {
    assert.match(fw1, /# \[rule "sync-peers"\] \(pass from net:SYNC to any\) is not rendered/);
    assert.ok(!fw1.includes('172.16.1.0/30'));
  });

  it('guards the sync endpoints on other interfaces and routes nothing through the sync link', () => {
    assert.ok(body(fw1, 'chain', 'input').includes('ip daddr 172.16.1.1 counter drop comment "the sync endpoints answer on the sync link only"'));
    const fwd = body(fw1, 'chain', 'forward');
    assert.ok(fwd.includes('iifname $if_SYNC counter drop comment "nothing is routed from the sync link"'));
    assert.ok(fwd.includes('oifname $if_SYNC counter drop comment "nothing is routed to the sync link"'));
  });

  it('uses the port and transport conntrackd is configured with', () => {
    const opts = { stateSync: { port: 3781 } };
    assert.ok(body(renderRuleset(site, 'fw1', opts), 'chain', 'sync_in')[0]?.includes('udp dport 3781'));
    assert.match(renderConntrackdConf(site, 'fw1', opts), /^\t\tPort 3781$/m);
  });

  it('passes the multicast group and IGMP for a trio', () => {
    const trio = parseSite(
      `${EXAMPLE}\n[node "fw3"]\nrole = secondary\nskew_offset = 200\nWAN = 203.0.113.4/24, 2001:db8:0:1::4/64\nLAN = 192.168.1.4/24, 2001:db8:0:2::4/64\nSYNC = 172.16.1.3/29\n`.replace(
        /SYNC = 172\.16\.1\.(\d)\/30/g,
        'SYNC = 172.16.1.$1/29',
      ),
    );
    const b = body(renderRuleset(trio, 'fw3'), 'chain', 'sync_in');
    assert.ok(b.includes('ip saddr 172.16.1.1 ip daddr 225.0.0.50 udp dport 3780 accept comment "conntrackd FTFW state sync from fw1"'));
    assert.ok(b.includes('ip saddr 172.16.1.2 ip daddr 225.0.0.50 udp dport 3780 accept comment "conntrackd FTFW state sync from fw2"'));
    assert.ok(b.some((l) => l.startsWith('meta l4proto igmp accept')));
  });

  it('leaves conntrackd out when state sync is off, and XML-RPC when config sync is off', () => {
    const off = parseSite(EXAMPLE.replace(/^state_sync = yes$/m, 'state_sync = no').replace(/^config_sync = yes$/m, 'config_sync = no'));
    const b = body(renderRuleset(off, 'fw1'), 'chain', 'sync_in');
    assert.ok(!b.some((l) => l.includes('3780') || l.includes('8443')));
    assert.ok(b.some((l) => l.includes('meta l4proto 112')));
  });
});

describe('renderRuleset: CARP/VRRP adverts', () => {
  it('accepts adverts on the interfaces carrying VIPs, per family', () => {
    assert.ok(body(fw1, 'chain', 'input').includes('meta l4proto 112 jump vrrp_in'));
    assert.deepEqual(body(fw1, 'chain', 'vrrp_in'), [
      'iifname $if_WAN ip daddr 224.0.0.18 ip ttl 255 accept comment "adverts on WAN (vip wan)"',
      'iifname $if_WAN ip saddr 203.0.113.3 ip ttl 255 accept comment "unicast adverts from the peers on WAN"',
      'iifname $if_LAN ip daddr 224.0.0.18 ip ttl 255 accept comment "adverts on LAN (vip lan)"',
      'iifname $if_LAN ip saddr 192.168.1.3 ip ttl 255 accept comment "unicast adverts from the peers on LAN"',
      'iifname $if_LAN ip6 daddr ff02::12 ip6 hoplimit 255 accept comment "adverts on LAN (vip lan6)"',
      'iifname $if_LAN ip6 saddr 2001:db8:0:2::3 ip6 hoplimit 255 accept comment "unicast adverts from the peers on LAN"',
      'counter drop comment "adverts anywhere else"',
    ]);
  });
});

describe('renderRuleset: services', () => {
  it('passes DHCP and the Kea HA peer on the served interface', () => {
    assert.deepEqual(body(fw1, 'chain', 'services_in'), [
      'iifname $if_LAN udp dport 67 accept comment "DHCP server (dhcp lan)"',
      'iifname $if_LAN ip saddr 192.168.1.3 ip daddr 192.168.1.2 tcp dport 8000 accept comment "Kea HA peers (dhcp lan)"',
    ]);
    assert.ok(body(renderRuleset(site, 'fw1', { dhcpHaPort: 8001 }), 'chain', 'services_in')[1]?.includes('tcp dport 8001'));
  });
});

describe('renderRuleset: NAT', () => {
  it('translates the LAN to the WAN VIP (manual outbound NAT)', () => {
    assert.deepEqual(body(fw1, 'chain', 'srcnat').slice(1), ['oifname $if_WAN ip saddr 192.168.1.0/24 snat ip to 203.0.113.10 comment "nat lan-out"']);
    assert.deepEqual(body(fw2, 'chain', 'srcnat'), body(fw1, 'chain', 'srcnat'), 'both nodes translate to the same VIP');
  });

  it('keeps [nat] file order and uses alias sets', () => {
    const s = withExtra(`
[nat "dmz-out"]
interface = WAN
source = inside
destination = 198.51.100.0/24
translate = vip:wan`);
    assert.deepEqual(body(renderRuleset(s, 'fw1'), 'chain', 'srcnat').slice(1), [
      'oifname $if_WAN ip saddr 192.168.1.0/24 snat ip to 203.0.113.10 comment "nat lan-out"',
      'oifname $if_WAN ip saddr @inside-v4 ip daddr 198.51.100.0/24 snat ip to 203.0.113.10 comment "nat dmz-out"',
    ]);
  });

  const pub = withExtra(`
[vip "web"]
interface = WAN
address = 203.0.113.20/24
vhid = 50
password = x
[vip "mail"]
interface = WAN
address = 203.0.113.21/24
vhid = 51
password = x`);

  it('renders port forwards and 1:1 NAT to CARP VIPs, with the associated filter rule', () => {
    const text = renderRuleset(pub, 'fw1', {
      portForwards: [
        portForward({ name: 'web', destination: 'vip:web', ports: ['web_ports'], target: '192.168.1.10' }),
        portForward({ name: 'ssh', destination: 'vip:web', ports: ['2222'], target: '192.168.1.10', targetPort: 22, protocol: 'tcp/udp', source: '198.51.100.0/24', filterRule: false }),
      ],
      oneToOne: [oneToOne({ name: 'mail', external: 'vip:mail', internal: '192.168.1.11' })],
    });
    assert.deepEqual(body(text, 'chain', 'dstnat').slice(1), [
      'iifname $if_WAN ip daddr 203.0.113.20 tcp dport @web_ports dnat ip to 192.168.1.10 comment "forward web"',
      'iifname $if_WAN ip saddr 198.51.100.0/24 ip daddr 203.0.113.20 meta l4proto { tcp, udp } th dport 2222 dnat ip to 192.168.1.10:22 comment "forward ssh"',
      'iifname $if_WAN ip daddr 203.0.113.21 dnat ip to 192.168.1.11 comment "1:1 mail"',
    ]);
    assert.deepEqual(body(text, 'chain', 'srcnat').slice(1), [
      'oifname $if_WAN ip saddr 192.168.1.11 snat ip to 203.0.113.21 comment "1:1 mail"',
      'oifname $if_WAN ip saddr 192.168.1.0/24 snat ip to 203.0.113.10 comment "nat lan-out"',
    ]);
    const fwd = body(text, 'chain', 'forward');
    assert.ok(fwd.includes('iifname $if_WAN ip daddr 192.168.1.10 tcp dport @web_ports ct status dnat counter accept comment "forward web: associated filter rule"'));
    assert.ok(!fwd.some((l) => l.includes('forward ssh')));
    assert.ok(fwd.findIndex((l) => l.includes('forward web')) < fwd.indexOf('iifname $if_WAN jump from_WAN'));
    assert.match(text, /^define if_WAN = \{ "WAN", "WAN-vh49", "WAN-vh50", "WAN-vh51" \}$/m);
  });

  it('renders IPv6 targets with brackets', () => {
    const s = withExtra(`[vip "web6"]\ninterface = WAN\naddress = 2001:db8:0:1::20/64\nvhid = 60\npassword = x`);
    const text = renderRuleset(s, 'fw1', { portForwards: [portForward({ name: 'w6', destination: 'vip:web6', ports: ['443'], target: '2001:db8:0:2::10', targetPort: 8443 })] });
    assert.ok(body(text, 'chain', 'dstnat').includes('iifname $if_WAN ip6 daddr 2001:db8:0:1::20 tcp dport 443 dnat ip6 to [2001:db8:0:2::10]:8443 comment "forward w6"'));
  });

  it('refuses forwards that cannot follow the master', () => {
    const bad = (f: Parameters<typeof portForward>[0]) => () => renderRuleset(pub, 'fw1', { portForwards: [portForward(f)] });
    assert.throws(bad({ name: 'a', destination: '203.0.113.20', ports: ['80'], target: '192.168.1.10' }), /not vip:NAME/);
    assert.throws(bad({ name: 'b', destination: 'vip:lan', ports: ['80'], target: '192.168.1.10' }), /is on LAN, not on WAN/);
    assert.throws(bad({ name: 'c', destination: 'vip:web', ports: ['80'], target: '2001:db8::1' }), /IPv6 but the VIP is IPv4/);
    assert.throws(bad({ name: 'd', destination: 'vip:web', ports: ['80-90'], target: '192.168.1.10', targetPort: 8080 }), /single external port/);
    assert.throws(bad({ name: 'e', destination: 'vip:nope', ports: ['80'], target: '192.168.1.10' }), ForwardError);
    assert.throws(() => renderRuleset(pub, 'fw1', { oneToOne: [oneToOne({ name: 'f', external: 'vip:web', internal: 'web' })] }), /not a host address/);
  });
});
