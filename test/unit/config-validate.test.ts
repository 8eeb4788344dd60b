/**
 * One failing input per validation rule. Each test edits the example site,
 * then checks that the problem is reported at the right file:line, section and key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigErrors, parseSite } from '../../src/config/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const FILE = 'ha-pair.ini';

// ---- editing helpers: all work on "[type "name"]" labels and key names ----------

/** Index range [start, end) of a section's lines (header included). */
function sectionRange(lines: string[], label: string): [number, number] {
  const start = lines.findIndex((l) => l.trim() === label);
  assert.ok(start >= 0, `no section ${label}`);
  let end = start + 1;
  while (end < lines.length && !(lines[end] ?? '').trim().startsWith('[')) end++;
  return [start, end];
}

/** Sets (or adds) `key = value` in a section. */
function setKey(text: string, label: string, key: string, value: string): string {
  const lines = text.split('\n');
  const [start, end] = sectionRange(lines, label);
  const at = lines.findIndex((l, i) => i > start && i < end && l.startsWith(`${key} =`));
  if (at >= 0) lines[at] = `${key} = ${value}`;
  else lines.splice(start + 1, 0, `${key} = ${value}`);
  return lines.join('\n');
}

function removeKey(text: string, label: string, key: string): string {
  const lines = text.split('\n');
  const [start, end] = sectionRange(lines, label);
  const at = lines.findIndex((l, i) => i > start && i < end && l.startsWith(`${key} =`));
  assert.ok(at >= 0, `no key ${key} in ${label}`);
  lines.splice(at, 1);
  return lines.join('\n');
}

function removeSection(text: string, label: string): string {
  const lines = text.split('\n');
  const [start, end] = sectionRange(lines, label);
  lines.splice(start, end - start);
  return lines.join('\n');
}

function addSection(text: string, block: string): string {
  return `${text.trimEnd()}\n\n${block.trim()}\n`;
}

/** 1-based line of the key in the section, or of the section header when key is undefined. */
function lineOf(text: string, label: string, key?: string): number {
  const lines = text.split('\n');
  const [start, end] = sectionRange(lines, label);
  if (key === undefined) return start + 1;
  const at = lines.findIndex((l, i) => i > start && i < end && l.startsWith(`${key} =`));
  assert.ok(at >= 0, `no key ${key} in ${label}`);
  return at + 1;
}

function errorsOf(text: string): string[] {
  try {
    parseSite(text, FILE);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

/**
 * Asserts a problem reported at the key's line (or the section header's when
 * key is undefined), formatted `file:line: [section] key: message`.
 */
function expectProblem(text: string, label: string, key: string | undefined, message: RegExp): void {
  const line = lineOf(text, label, key);
  const prefix = `${FILE}:${line}: ${label}${key === undefined ? ':' : ` ${key}:`} `;
  const errors = errorsOf(text);
  const hit = errors.find((e) => e.startsWith(prefix) && message.test(e.slice(prefix.length)));
  assert.ok(hit !== undefined, `expected "${prefix}${message.source}" among:\n  ${errors.join('\n  ') || '(no errors)'}`);
}

const VIP_WAN = '[vip "wan"]';
const VIP_LAN = '[vip "lan"]';
const VIP_LAN6 = '[vip "lan6"]';
const FW1 = '[node "fw1"]';
const FW2 = '[node "fw2"]';
const NAT = '[nat "lan-out"]';

describe('site validation', () => {
  it('accepts the example site', () => {
    assert.deepEqual(errorsOf(EXAMPLE), []);
  });

  describe('VIPs (pfSense HA guide: a VIP must sit in the subnet of a real address)', () => {
    it('refuses a VIP outside the subnet of any node', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'address', '203.0.114.10/24');
      expectProblem(text, VIP_WAN, 'address', /203\.0\.114\.10 is outside fw1's WAN subnet 203\.0\.113\.0\/24 \(allowed: an address in 203\.0\.113\.0\/24\)/);
    });

    it('checks every node, not only the primary', () => {
      const text = setKey(EXAMPLE, FW2, 'WAN', '198.51.100.3/24, 2001:db8:0:1::3/64');
      expectProblem(text, VIP_WAN, 'address', /outside fw2's WAN subnet 198\.51\.100\.0\/24/);
    });

    it('refuses a VIP whose prefix differs from the subnet', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'address', '203.0.113.10/25');
      expectProblem(text, VIP_WAN, 'address', /prefix \/25 differs from fw1's WAN subnet/);
    });

    it('refuses a VIP equal to a node address', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'address', '203.0.113.3/24');
      expectProblem(text, VIP_WAN, 'address', /203\.0\.113\.3 is fw2's own WAN address/);
    });

    it('refuses a VIP on an interface where a node has no address of its family', () => {
      const text = setKey(EXAMPLE, FW2, 'LAN', '192.168.1.3/24');
      expectProblem(text, VIP_LAN6, 'address', /fw2 has no IPv6 address on LAN to carry this VIP/);
    });

    it('refuses a VIP on an interface no node has', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'interface', 'OPT1');
      expectProblem(text, VIP_WAN, 'interface', /interface OPT1 is not defined on any node \(allowed: WAN, LAN, SYNC\)/);
    });

    it('refuses a VHID used twice on one interface', () => {
      const text = addSection(EXAMPLE, '[vip "lan2"]\ninterface = LAN\naddress = 192.168.1.5/24\nvhid = 1\npassword = x');
      expectProblem(text, '[vip "lan2"]', 'vhid', /1 is already used on LAN by \[vip "lan"\] \(line \d+\)/);
    });

    it('allows the same VHID on another interface', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'vhid', '1');
      assert.deepEqual(errorsOf(text), []);
    });

    it('refuses the same address on two VIPs', () => {
      const text = addSection(EXAMPLE, '[vip "lan2"]\ninterface = LAN\naddress = 192.168.1.1/24\nvhid = 7\npassword = x');
      expectProblem(text, '[vip "lan2"]', 'address', /192\.168\.1\.1 is already the address of \[vip "lan"\]/);
    });

    it('refuses vhid outside 1-255', () => {
      expectProblem(setKey(EXAMPLE, VIP_LAN, 'vhid', '300'), VIP_LAN, 'vhid', /^300 is out of range \(allowed: 1-255\)$/);
      expectProblem(setKey(EXAMPLE, VIP_LAN, 'vhid', '0'), VIP_LAN, 'vhid', /^0 is out of range \(allowed: 1-255\)$/);
      expectProblem(setKey(EXAMPLE, VIP_LAN, 'vhid', 'ten'), VIP_LAN, 'vhid', /"ten" is not a whole number/);
    });

    it('refuses advbase outside 1-255', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'advbase', '0'), VIP_WAN, 'advbase', /^0 is out of range \(allowed: 1-255\)$/);
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'advbase', '256'), VIP_WAN, 'advbase', /^256 is out of range/);
    });

    it('refuses advskew outside 0-254', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'advskew', '255'), VIP_WAN, 'advskew', /^255 is out of range \(allowed: 0-254\)$/);
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'advskew', '-1'), VIP_WAN, 'advskew', /^-1 is out of range/);
    });

    it('refuses an advskew whose secondary skew (advskew + offset) exceeds 254', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'advskew', '200');
      expectProblem(text, VIP_WAN, 'advskew', /advskew 200 \+ secondary_skew_offset 100 = 300 on fw2 exceeds 254 \(allowed: advskew 0-154 with this offset\)/);
    });

    it('keeps VRRPv3 priorities >= 1 (skew <= 253)', () => {
      const text = setKey(EXAMPLE, VIP_LAN6, 'advskew', '154');
      expectProblem(text, VIP_LAN6, 'advskew', /= 254 on fw2 exceeds 253 \(VRRPv3 priority/);
    });

    it('requires a password for a CARP VIP', () => {
      const text = removeKey(EXAMPLE, VIP_LAN, 'password');
      expectProblem(text, VIP_LAN, undefined, /missing required key "password"/);
    });

    it('refuses a password for VRRPv3, which has no authentication', () => {
      const text = setKey(EXAMPLE, VIP_LAN6, 'password', 'secret');
      expectProblem(text, VIP_LAN6, 'password', /VRRPv3 has no authentication/);
    });

    it('checks interval_ms range and steps, and only for vrrp3', () => {
      expectProblem(setKey(EXAMPLE, VIP_LAN6, 'interval_ms', '15'), VIP_LAN6, 'interval_ms', /15 is not a multiple of 10 \(allowed: 10-40950 in steps of 10\)/);
      expectProblem(setKey(EXAMPLE, VIP_LAN6, 'interval_ms', '50000'), VIP_LAN6, 'interval_ms', /out of range/);
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'interval_ms', '100'), VIP_WAN, 'interval_ms', /only for protocol = vrrp3/);
      expectProblem(setKey(EXAMPLE, VIP_LAN6, 'advbase', '1'), VIP_LAN6, 'advbase', /only for protocol = carp/);
    });

    it('refuses an unknown protocol and lists the known ones', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'protocol', 'hsrp'), VIP_WAN, 'protocol', /"hsrp" is not a known value \(allowed: carp, vrrp3\)/);
    });

    it('refuses a VIP that is a network address', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'address', '203.0.113.0/24'), VIP_WAN, 'address', /network or broadcast address/);
    });
  });

  describe('nodes', () => {
    it('requires exactly one primary', () => {
      expectProblem(setKey(EXAMPLE, FW2, 'role', 'primary'), FW2, 'role', /a second primary \(fw1 is primary at line \d+\)/);
      const none = setKey(EXAMPLE, FW1, 'role', 'secondary');
      expectProblem(none, '[cluster]', undefined, /no node has role = primary/);
    });

    it('requires a role', () => {
      expectProblem(removeKey(EXAMPLE, FW2, 'role'), FW2, undefined, /missing required key "role"/);
    });

    it('requires at least two nodes', () => {
      expectProblem(removeSection(EXAMPLE, FW2), '[cluster]', undefined, /a cluster needs at least 2 nodes, found 1/);
    });

    it('requires node names to be valid hostnames', () => {
      const text = EXAMPLE.replace('[node "fw2"]', '[node "fw_2"]');
      expectProblem(text, '[node "fw_2"]', undefined, /"fw_2" is not a valid node name \(allowed: letters, digits and -/);
      const dotted = EXAMPLE.replace('[node "fw2"]', '[node "fw2.office"]');
      expectProblem(dotted, '[node "fw2.office"]', undefined, /is not a valid node name/);
    });

    it('requires node names to be unique (hostnames ignore case)', () => {
      const text = EXAMPLE.replace('[node "fw2"]', '[node "FW1"]');
      expectProblem(text, '[node "FW1"]', undefined, /node name clashes with "fw1"/);
      const exact = EXAMPLE.replace('[node "fw2"]', '[node "fw1"]');
      assert.ok(errorsOf(exact).some((e) => /^ha-pair\.ini:\d+: \[node "fw1"\]: duplicate section \(first defined at line \d+\)$/.test(e)));
    });

    it('refuses a bad IPv4 CIDR', () => {
      expectProblem(setKey(EXAMPLE, FW1, 'WAN', '203.0.113.300/24'), FW1, 'WAN', /"203\.0\.113\.300" is not an IPv4 address/);
      expectProblem(setKey(EXAMPLE, FW1, 'WAN', '203.0.113.2/33'), FW1, 'WAN', /bad prefix length "33" \(allowed: 0-32 for IPv4\)/);
      expectProblem(setKey(EXAMPLE, FW1, 'WAN', '203.0.113.2'), FW1, 'WAN', /has no prefix length/);
    });

    it('refuses a bad IPv6 CIDR', () => {
      expectProblem(setKey(EXAMPLE, FW1, 'LAN', '192.168.1.2/24, 2001:db8::2::1/64'), FW1, 'LAN', /"2001:db8::2::1" is not an IPv6 address/);
      expectProblem(setKey(EXAMPLE, FW1, 'LAN', '192.168.1.2/24, 2001:db8:0:2::2/129'), FW1, 'LAN', /allowed: 0-128 for IPv6/);
    });

    it('refuses network and broadcast addresses on interfaces', () => {
      expectProblem(setKey(EXAMPLE, FW1, 'SYNC', '172.16.1.3/30'), FW1, 'SYNC', /172\.16\.1\.3\/30 is the network or broadcast address/);
    });

    it('refuses an address used by two nodes', () => {
      expectProblem(setKey(EXAMPLE, FW2, 'LAN', '192.168.1.2/24, 2001:db8:0:2::3/64'), FW2, 'LAN', /192\.168\.1\.2 is already used by fw1 LAN/);
    });

    it('refuses overlapping subnets on two interfaces of one node', () => {
      const text = setKey(EXAMPLE, FW1, 'OPT1', '192.168.1.200/25');
      expectProblem(text, FW1, 'OPT1', /overlaps LAN's subnet 192\.168\.1\.0\/24/);
    });

    it('requires the same interfaces on every node', () => {
      const text = setKey(EXAMPLE, FW1, 'OPT1', '10.9.9.1/24');
      expectProblem(text, FW2, undefined, /has no OPT1 address, but fw1 has one/);
    });

    it('refuses interface names other than WAN, LAN, SYNC, OPTn', () => {
      expectProblem(setKey(EXAMPLE, FW1, 'DMZ', '10.9.9.1/24'), FW1, 'DMZ', /unknown key \(allowed: role, skew_offset, fingerprint, WAN, LAN, SYNC, OPT1, OPT2, \.\.\.\)/);
    });

    it('refuses two nodes whose skews would tie', () => {
      const text = setKey(EXAMPLE, FW2, 'skew_offset', '0');
      expectProblem(text, FW2, 'skew_offset', /skew offset 0 equals fw1's, so the two would tie/);
    });
  });

  describe('sync link', () => {
    it('requires the SYNC addresses of all nodes in one subnet', () => {
      const text = setKey(EXAMPLE, FW2, 'SYNC', '172.16.2.2/30');
      expectProblem(text, FW2, 'SYNC', /172\.16\.2\.2\/30 is not in the sync subnet of fw1 \(172\.16\.1\.0\/30\)/);
      const prefix = setKey(EXAMPLE, FW2, 'SYNC', '172.16.1.2/29');
      expectProblem(prefix, FW2, 'SYNC', /is not in the sync subnet of fw1/);
    });

    it('requires every node to have an address on the sync interface', () => {
      const text = removeKey(EXAMPLE, FW2, 'SYNC');
      expectProblem(text, FW2, undefined, /has no address on the sync interface SYNC/);
    });

    it('requires a password for config sync and known areas', () => {
      expectProblem(removeKey(EXAMPLE, '[sync]', 'password'), '[sync]', undefined, /missing required key "password" \(config_sync = yes\)/);
      assert.deepEqual(errorsOf(setKey(removeKey(EXAMPLE, '[sync]', 'password'), '[sync]', 'config_sync', 'no')), []);
      expectProblem(setKey(EXAMPLE, '[sync]', 'areas', 'rules, firewall'), '[sync]', 'areas', /"firewall" is not a sync area \(allowed: rules, nat, aliases, vips, dhcp, dns, users, routes \(or none\)\)/);
    });
  });

  describe('outbound NAT (pfSense HA guide: never match the cluster\'s WAN addresses)', () => {
    it('refuses a translate that names an unknown vip', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'translate', 'vip:wan2'), NAT, 'translate', /vip "wan2" does not exist \(allowed: vip:lan, vip:lan6, vip:wan\)/);
    });

    it('refuses a translate that is not a vip reference', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'translate', '203.0.113.10'), NAT, 'translate', /is not a vip reference \(allowed: vip:NAME\)/);
    });

    it('refuses a translate vip on another interface', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'translate', 'vip:lan'), NAT, 'translate', /vip "lan" is on LAN, but this rule translates on WAN \(allowed: vip:wan\)/);
    });

    it('refuses source any', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'source', 'any'), NAT, 'source', /any would also translate the nodes' own WAN addresses/);
    });

    it('refuses a source that contains a node\'s WAN address', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'source', '203.0.113.0/24'), NAT, 'source', /203\.0\.113\.0\/24 contains fw1's WAN address 203\.0\.113\.2/);
      expectProblem(setKey(EXAMPLE, NAT, 'source', '203.0.113.3'), NAT, 'source', /contains fw2's WAN address 203\.0\.113\.3/);
      expectProblem(setKey(EXAMPLE, NAT, 'source', '0.0.0.0/0'), NAT, 'source', /contains fw1's WAN address/);
    });

    it('follows aliases when checking the source', () => {
      const text = setKey(setKey(EXAMPLE, '[alias "inside"]', 'members', '192.168.1.0/24, 203.0.113.0/28'), NAT, 'source', 'inside');
      expectProblem(text, NAT, 'source', /203\.0\.113\.0\/28 contains fw1's WAN address/);
    });

    it('refuses a source of another family than the vip', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'source', '2001:db8:0:2::/64'), NAT, 'translate', /translating IPv6 sources to the IPv4 vip "wan"/);
    });
  });

  describe('aliases and references', () => {
    it('refuses a rule that names a missing alias', () => {
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'destination', 'mail_servers'), '[rule "web-in"]', 'destination', /alias "mail_servers" does not exist \(allowed: inside, web_servers\)/);
    });

    it('refuses a missing port alias and an address alias used as ports', () => {
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'port', 'mail_ports'), '[rule "web-in"]', 'port', /alias "mail_ports" does not exist \(allowed: web_ports\)/);
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'port', 'web_servers'), '[rule "web-in"]', 'port', /alias "web_servers" is a host alias, not a port alias/);
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'destination', 'web_ports'), '[rule "web-in"]', 'destination', /is a port alias/);
    });

    it('refuses a NAT source alias that does not exist', () => {
      expectProblem(setKey(EXAMPLE, NAT, 'source', 'nowhere'), NAT, 'source', /alias "nowhere" does not exist/);
    });

    it('refuses alias members that name missing or incompatible aliases, and cycles', () => {
      const alias = '[alias "inside"]';
      expectProblem(setKey(EXAMPLE, alias, 'members', '192.168.1.0/24, lab_nets'), alias, 'members', /alias "lab_nets" does not exist/);
      expectProblem(setKey(EXAMPLE, alias, 'members', 'web_ports'), alias, 'members', /"web_ports" is a port alias and cannot be part of a network alias/);
      const cycle = addSection(setKey(EXAMPLE, alias, 'members', 'more'), '[alias "more"]\ntype = network\nmembers = inside');
      expectProblem(cycle, alias, 'members', /aliases include each other: inside -> more -> inside/);
    });

    it('refuses malformed alias members with what the type allows', () => {
      expectProblem(setKey(EXAMPLE, '[alias "web_servers"]', 'members', '192.168.1.300'), '[alias "web_servers"]', 'members', /allowed: addresses or host alias names/);
      expectProblem(setKey(EXAMPLE, '[alias "inside"]', 'members', '192.168.1.1/24'), '[alias "inside"]', 'members', /has host bits set/);
      expectProblem(setKey(EXAMPLE, '[alias "web_ports"]', 'members', '70000'), '[alias "web_ports"]', 'members', /"70000" is not a valid port/);
    });

    it('refuses a rule vip reference that does not exist and ports without tcp/udp', () => {
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'destination', 'vip:www'), '[rule "web-in"]', 'destination', /vip "www" does not exist/);
      expectProblem(setKey(EXAMPLE, '[rule "web-in"]', 'protocol', 'icmp'), '[rule "web-in"]', 'port', /ports need protocol tcp, udp or tcp\/udp/);
    });

    it('does not repeat a broken section as a dangling reference', () => {
      const text = setKey(EXAMPLE, VIP_WAN, 'vhid', '999');
      const errors = errorsOf(text);
      assert.equal(errors.length, 1, errors.join('\n'));
    });
  });

  describe('gateways and services', () => {
    it('refuses a gateway outside the nodes\' subnet', () => {
      expectProblem(setKey(EXAMPLE, '[gateway "upstream"]', 'address', '198.51.100.1'), '[gateway "upstream"]', 'address', /198\.51\.100\.1 is outside fw1's WAN subnet 203\.0\.113\.0\/24/);
    });

    it('refuses a second default gateway of one family', () => {
      const text = addSection(EXAMPLE, '[gateway "backup"]\ninterface = WAN\naddress = 203.0.113.254\ndefault = yes');
      expectProblem(text, '[gateway "backup"]', 'default', /\[gateway "upstream"\] is already the IPv4 default gateway/);
    });

    it('refuses a DHCP pool outside the subnet or over the cluster\'s addresses', () => {
      const dhcp = '[dhcp "lan"]';
      expectProblem(setKey(EXAMPLE, dhcp, 'range', '192.168.2.100-192.168.2.199'), dhcp, 'range', /not inside fw1's LAN subnet 192\.168\.1\.0\/24/);
      expectProblem(setKey(EXAMPLE, dhcp, 'range', '192.168.1.2-192.168.1.99'), dhcp, 'range', /includes fw1's own address 192\.168\.1\.2/);
      expectProblem(setKey(EXAMPLE, dhcp, 'range', '192.168.1.199-192.168.1.100'), dhcp, 'range', /ends before it starts/);
    });

    it('refuses a DHCP gateway that is a node address or a vip elsewhere', () => {
      const dhcp = '[dhcp "lan"]';
      expectProblem(setKey(EXAMPLE, dhcp, 'gateway', '192.168.1.2'), dhcp, 'gateway', /192\.168\.1\.2 is fw1's own address/);
      expectProblem(setKey(EXAMPLE, dhcp, 'gateway', 'vip:wan'), dhcp, 'gateway', /vip "wan" is on WAN, clients on LAN cannot use it \(allowed: vip:lan, vip:lan6\)/);
    });

    it('refuses a DNS listen interface no node has', () => {
      expectProblem(setKey(EXAMPLE, '[dns "resolver"]', 'listen', 'LAN, OPT2'), '[dns "resolver"]', 'listen', /interface OPT2 is not defined on any node/);
    });

    it('refuses a malformed user password hash', () => {
      expectProblem(setKey(EXAMPLE, '[user "admin"]', 'password_hash', 'hunter2'), '[user "admin"]', 'password_hash', /allowed: a crypt\(3\) hash/);
    });
  });

  describe('file structure', () => {
    it('refuses unknown section types and lists the allowed ones', () => {
      const text = addSection(EXAMPLE, '[vpn "office"]\ntype = wireguard');
      expectProblem(text, '[vpn "office"]', undefined, /unknown section type "vpn" \(allowed: \[cluster\], \[sync\], \[node "NAME"\]/);
    });

    it('refuses unknown keys and lists the allowed ones', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'priority', '100'), VIP_WAN, 'priority', /unknown key \(allowed: interface, address, vhid, protocol, advbase, advskew, interval_ms, password, unicast, description\)/);
    });

    it('refuses a singleton with a name and a named section without one', () => {
      expectProblem(EXAMPLE.replace('\n[cluster]\n', '\n[cluster "x"]\n'), '[cluster "x"]', undefined, /\[cluster\] takes no name/);
      expectProblem(addSection(EXAMPLE, '[vip]\ninterface = LAN'), '[vip]', undefined, /\[vip\] needs a name/);
    });

    it('requires [cluster] and [sync]', () => {
      const errors = errorsOf(removeSection(removeSection(EXAMPLE, '[cluster]'), '[sync]'));
      assert.ok(errors.includes('ha-pair.ini:1: missing [cluster] section'), errors.join('\n'));
      assert.ok(errors.includes('ha-pair.ini:1: missing [sync] section'), errors.join('\n'));
    });

    it('refuses empty values', () => {
      expectProblem(setKey(EXAMPLE, VIP_WAN, 'description', ''), VIP_WAN, 'description', /empty value/);
    });
  });
});
