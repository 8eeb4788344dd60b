/**
 * Splitting a site into sync areas and merging the primary's areas into a
 * secondary's own sections: per-node sections stay, skews and peer
 * addresses come out right for the receiver by construction, drift is seen.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { effectiveSkew, nodeContext, parseSite, siteToIni, type Site } from '../../src/config/index.js';
import { areaHashes, areaTextProblems, areaTexts, changedAreas, mergeAreas, nodeAddressWarnings, splitBlocks } from '../../src/agent/configsync/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const primary = () => parseSite(EXAMPLE, 'fw1.ini');

/** The primary after an admin added an alias and a rule using it. */
function primaryWithChange(): Site {
  return parseSite(
    EXAMPLE.replace('[rule "wan-default"]', '[rule "ssh-admins"]\ninterface = WAN\naction = pass\nprotocol = tcp\nsource = admins\nport = 22\n\n[rule "wan-default"]').replace(
      '[alias "inside"]',
      '[alias "admins"]\ntype = network\nmembers = 198.51.100.0/24\n\n[alias "inside"]',
    ),
    'fw1.ini',
  );
}

/** fw2's own copy: same areas, but its node sections are its own (here: its own skew offset and a pinned primary). */
function secondary(): Site {
  return parseSite(EXAMPLE.replace('role = secondary', 'role = secondary\nskew_offset = 50'), 'fw2.ini');
}

describe('sync areas', () => {
  it('splits canonical INI into its sections, losslessly', () => {
    const text = siteToIni(primary());
    const blocks = splitBlocks(text);
    assert.equal(blocks.map((b) => b.text).join('\n'), text);
    assert.deepEqual(blocks.slice(0, 4).map((b) => b.label), ['[cluster]', '[sync]', '[node "fw1"]', '[node "fw2"]']);
  });

  it('gives each area its own sections, rules in file order, nothing per-node', () => {
    const t = areaTexts(primary(), ['rules', 'aliases', 'dns']);
    assert.deepEqual([...(t.rules ?? '').matchAll(/^\[rule "([^"]+)"\]$/gm)].map((m) => m[1]), ['sync-peers', 'lan-out', 'lan6-out', 'web-in', 'wan-default']);
    assert.doesNotMatch(`${t.rules}${t.aliases}${t.dns}`, /\[(node|sync|cluster)/);
    assert.match(t.aliases ?? '', /^\[alias "inside"\]\ntype = network\nmembers = 192\.168\.1\.0\/24\n/);
  });

  it('merges: the receiver keeps its own [cluster], [sync] and [node]s, takes the pushed areas', () => {
    const pushed = areaTexts(primaryWithChange(), primary().sync.areas);
    const merged = parseSite(mergeAreas(secondary(), pushed), 'merged');
    assert.equal(merged.nodes.find((n) => n.name === 'fw2')?.skewOffset, 50, 'fw2 keeps its own node section');
    assert.ok(merged.aliases.some((a) => a.name === 'admins'));
    assert.deepEqual(merged.rules.map((r) => r.name), ['sync-peers', 'lan-out', 'lan6-out', 'web-in', 'ssh-admins', 'wan-default']);
    assert.deepEqual(areaHashes(merged, merged.sync.areas), areaHashes(primaryWithChange(), merged.sync.areas), 'the synced areas are now identical');
  });

  it('only replaces the areas that were pushed', () => {
    const local = parseSite(EXAMPLE.replace('forwarders = 192.0.2.53, 198.51.100.53', 'forwarders = 192.0.2.99'), 'fw2.ini');
    const merged = parseSite(mergeAreas(local, { rules: areaTexts(primary(), ['rules']).rules ?? '' }), 'merged');
    assert.deepEqual(merged.dns[0]?.forwarders, ['192.0.2.99']);
  });

  it('VIPs arrive with the receiver\'s effective skew: the offset is a node property', () => {
    const merged = parseSite(mergeAreas(secondary(), areaTexts(primary(), ['vips'])), 'merged');
    const vip = merged.vips.find((v) => v.name === 'wan');
    assert.equal(vip?.advskew, 0, 'the VIP travels with the primary\'s advskew');
    assert.equal(effectiveSkew(merged, 'wan', 'fw2'), 50, 'fw2 advertises its own offset (skew_offset = 50)');
    const plain = parseSite(mergeAreas(primary(), areaTexts(primary(), ['vips'])), 'merged');
    assert.equal(effectiveSkew(plain, 'wan', 'fw2'), 100, 'the default secondary offset, +100 as pfSense');
    assert.equal(effectiveSkew(plain, 'wan', 'fw1'), 0);
    assert.equal(nodeContext(plain, 'fw2').vips.find((v) => v.name === 'lan6')?.vrrpPriority, 154);
  });

  it('addresses that point at the peer come out mirrored on the receiver (DHCP HA peer, sync peer)', () => {
    const merged = parseSite(mergeAreas(secondary(), areaTexts(primary(), primary().sync.areas)), 'merged');
    const onFw2 = nodeContext(merged, 'fw2');
    const onFw1 = nodeContext(primary(), 'fw1');
    const peerOf = (ctx: typeof onFw2) => ctx.dhcp[0]?.peers.find((p) => !p.isSelf)?.address;
    const selfOf = (ctx: typeof onFw2) => ctx.dhcp[0]?.peers.find((p) => p.isSelf)?.address;
    assert.equal(peerOf(onFw1), '192.168.1.3');
    assert.equal(selfOf(onFw1), '192.168.1.2');
    assert.equal(peerOf(onFw2), '192.168.1.2', 'on fw2 the failover peer is fw1');
    assert.equal(selfOf(onFw2), '192.168.1.3');
    assert.deepEqual(onFw2.peers.map((p) => p.syncAddress), ['172.16.1.1']);
    assert.deepEqual(onFw1.peers.map((p) => p.syncAddress), ['172.16.1.2']);
  });

  it('warns about synced sections that name one node\'s own address', () => {
    const site = parseSite(EXAMPLE.replace('[rule "wan-default"]', '[rule "to-fw1"]\ninterface = LAN\naction = pass\ndestination = 192.168.1.2\n\n[rule "wan-default"]'), 'w.ini');
    assert.deepEqual(nodeAddressWarnings(site), ['[rule "to-fw1"] destination 192.168.1.2 is fw1\'s own LAN address: every node reads it as that node (use self, net:IFACE or a VIP if you meant "this node")']);
    assert.deepEqual(nodeAddressWarnings(primary()), []);
  });

  it('refuses area texts with foreign sections or bad syntax, with the line in the pushed text', () => {
    assert.deepEqual(areaTextProblems('rules', '[rule "a"]\ninterface = LAN\naction = pass\n', 'fw1:rules'), []);
    assert.deepEqual(areaTextProblems('rules', '[rule "a"]\naction = pass\n\n[node "fw2"]\nrole = primary\n', 'fw1:rules'), [
      'fw1:rules:4: [node "fw2"] does not belong to area rules (allowed: [rule "NAME"])',
    ]);
    assert.match(areaTextProblems('aliases', '[alias "x"]\nthis is not ini\n', 'fw1:aliases').join('\n'), /fw1:aliases:2: \[alias "x"\]: expected "key = value"/);
    assert.match(areaTextProblems('vips', '[sync]\npassword = stolen\n', 'fw1:vips').join('\n'), /\[sync\] does not belong to area vips/);
  });

  it('detects drift: synced areas that no longer hash as received', () => {
    const received = areaHashes(primary(), primary().sync.areas);
    assert.deepEqual(changedAreas(primary(), received), []);
    const edited = parseSite(EXAMPLE.replace('members = 80, 443, 8080-8081', 'members = 80, 443').replace('action = block', 'action = reject'), 'edited.ini');
    assert.deepEqual(changedAreas(edited, received), ['rules', 'aliases']);
    const commentsOnly = parseSite(EXAMPLE.replace('[rule "lan-out"]', '; a comment\n[rule "lan-out"]'), 'c.ini');
    assert.deepEqual(changedAreas(commentsOnly, received), [], 'comments and spacing are not drift');
  });
});
