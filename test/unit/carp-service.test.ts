/**
 * The election shell (src/agent/carp/service.ts) with fake I/O: no sockets,
 * no ip, no root. VRRPv3 at 10 ms keeps each case short; assertions are
 * about order and outcome, never about durations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite } from '../../src/config/index.js';
import type { Site } from '../../src/config/types.js';
import { Logger } from '../../src/agent/log.js';
import { CarpService, type CarpPersisted, type IncomingPacket, type VipHolder } from '../../src/agent/carp/service.js';
import type { VipPlan } from '../../src/agent/carp/plan.js';
import type { LinkState } from '../../src/agent/carp/links.js';
import { encodeVrrp3 } from '../../src/agent/proto/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');

/** The example with VRRPv3 10 ms VIPs: lan (LAN, 192.168.1.1) and wan (WAN, 203.0.113.10). */
function siteText(extra = ''): string {
  return EXAMPLE
    .replace(/\[vip "wan"\][^[]*/, '[vip "wan"]\ninterface = WAN\naddress = 203.0.113.10/24\nvhid = 49\nprotocol = vrrp3\ninterval_ms = 10\n' + extra + '\n')
    .replace(/\[vip "lan"\][^[]*/, '[vip "lan"]\ninterface = LAN\naddress = 192.168.1.1/24\nvhid = 1\nprotocol = vrrp3\ninterval_ms = 10\n\n')
    .replace(/\[vip "lan6"\][^[]*/, '');
}

function site(extra = ''): Site {
  return parseSite(siteText(extra), 'test.ini');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

class Rig {
  readonly events: string[] = [];
  readonly logs: string[] = [];
  readonly sent: Array<{ iface: string; priority: number; payload: Uint8Array }> = [];
  unknown = 0;
  persisted: CarpPersisted = { maintenance: false };
  links = new Map<string, boolean>();
  linkLocal: string | undefined = 'fe80::2';
  gate: Promise<void> | null = null;
  deliver!: (iface: string, p: IncomingPacket) => void;
  /** Adverts "in the socket", handed over by transport.drain() (what the kernel queue holds while the loop is busy). */
  pending: Array<() => void> = [];
  readonly holder: VipHolder;
  readonly carp: CarpService;

  constructor() {
    const held = new Set<string>();
    const ev = this.events;
    this.holder = {
      stats: { announcements: 0, announceErrors: 0, ipErrors: 0 },
      prepare: async (vs) => { ev.push(`prepare ${vs.map((v) => v.name).join(',')}`); },
      remove: async (vs) => { ev.push(`remove ${vs.map((v) => v.name).join(',')}`); },
      acquire: async (v: VipPlan) => { if (this.gate) await this.gate; held.add(v.name); ev.push(`acquire ${v.name}`); },
      release: async (v: VipPlan) => { held.delete(v.name); ev.push(`release ${v.name}`); },
      holds: (v) => held.has(v.name),
      reannounce: (v) => { ev.push(`reannounce ${v.name}`); },
    };
    this.carp = new CarpService({
      node: 'fw1',
      log: new Logger('fw1', (l) => this.logs.push(l)),
      persistence: {
        load: async () => this.persisted,
        save: async (p) => { ev.push(`save maintenance=${p.maintenance}`); this.persisted = p; },
      },
      holder: this.holder,
      transport: (onPacket) => {
        this.deliver = onPacket;
        return {
          ensure: () => true,
          reopen: () => undefined,
          send: (iface, _family, payload) => {
            this.sent.push({ iface, priority: payload[2] ?? -1, payload });
            ev.push(`advert ${iface} ${payload[2]}`);
            return true;
          },
          countUnknownVhid: () => { this.unknown++; },
          drain: () => { for (const p of this.pending.splice(0)) p(); },
          retain: () => undefined,
          stats: () => [],
          close: () => undefined,
        };
      },
      readLink: (iface): LinkState => ({ exists: true, up: this.links.get(iface) ?? true, ifindex: 7, operstate: 'up' }),
      linkPollMs: 10,
      linkLocalOf: () => this.linkLocal,
      deadman: false,
    });
  }

  state(vip: string): string | undefined {
    return this.carp.status().vips.find((v) => v.name === vip)?.state;
  }

  /** An advert from the other node (fw2) as VRRPv3 with this priority. */
  peerAdvert(iface: 'LAN' | 'WAN', priority: number): void {
    const [src, addr, vrid] = iface === 'LAN' ? ['192.168.1.3', '192.168.1.1', 1] : ['203.0.113.3', '203.0.113.10', 49];
    const payload = encodeVrrp3({ vrid: vrid as number, priority, maxAdverInt: 1, addresses: [addr as string], src: src as string, dst: '224.0.0.18' });
    this.deliver(iface, { family: 4, payload, source: src as string, destination: '224.0.0.18', ttl: 255 });
  }
}

describe('carp service (fake I/O)', () => {
  it('a timer that fires late reads the adverts queued meanwhile first: a blocked event loop is not a dead master', async (t) => {
    const r = new Rig();
    await r.carp.start(site());
    t.after(() => r.carp.stop());
    // fw2 is the better master here (same priority, higher address wins in VRRPv3).
    const feed = setInterval(() => { r.peerAdvert('LAN', 254); r.peerAdvert('WAN', 254); }, 5);
    t.after(() => clearInterval(feed));
    await sleep(100);
    assert.equal(r.state('lan'), 'BACKUP');
    clearInterval(feed);
    // The loop is blocked for 120 ms (ten master-down times at 10 ms); the master's
    // adverts keep arriving and wait in the socket.
    r.pending.push(() => r.peerAdvert('LAN', 254), () => r.peerAdvert('WAN', 254));
    const end = performance.now() + 120;
    while (performance.now() < end) { /* busy */ }
    await sleep(1);
    assert.equal(r.state('lan'), 'BACKUP', r.logs.join('\n'));
    assert.equal(r.state('wan'), 'BACKUP');
    assert.doesNotMatch(r.logs.join('\n'), /to=MASTER/);
    // Nothing more from fw2: now it is a real master-down.
    await until(() => r.state('lan') === 'MASTER', 'lan MASTER once fw2 is silent');
  });

  it('alone on the segment: both VIPs become MASTER, each VIP taken before its first advert', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER' && r.state('wan') === 'MASTER', 'both MASTER');
    for (const [vip, iface] of [['lan', 'LAN'], ['wan', 'WAN']]) {
      const acquired = r.events.indexOf(`acquire ${vip}`);
      const firstAdvert = r.events.indexOf(`advert ${iface} 254`);
      assert.ok(acquired >= 0 && acquired < firstAdvert, r.events.join('\n'));
    }
    assert.match(r.logs.join('\n'), /transition vip=lan vhid=1 interface=LAN from=BACKUP to=MASTER reason=timeout/);
    const s = r.carp.status();
    assert.equal(s.vips.find((v) => v.name === 'lan')?.holding, true);
    assert.equal(s.vips.find((v) => v.name === 'lan')?.effectivePriority, 254);
    await r.carp.stop();
    // Stopping resigns (priority 0), releases, removes the macvlans.
    assert.ok(r.events.includes('advert LAN 0') && r.events.includes('release lan') && r.events.at(-1) === 'remove lan,wan', r.events.join('\n'));
  });

  it('a before-master hook is awaited: no VIP and no advert until it resolves; queued adverts coalesce', async () => {
    const r = new Rig();
    let open!: () => void;
    const hookSeen: string[] = [];
    r.carp.beforeMaster(async (ev) => {
      hookSeen.push(`${ev.vip} ${ev.reason}`);
      if (ev.vip === 'lan') await new Promise<void>((res) => { open = res; });
    });
    const transitions: string[] = [];
    r.carp.on('transition', (ev) => transitions.push(`${ev.vip} ${ev.from}->${ev.to} ${ev.reason}`));
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER' && hookSeen.includes('lan timeout'), 'lan MASTER in the core, hook called');
    await sleep(100); // ten advert intervals queue up behind the hook
    assert.ok(!r.events.includes('acquire lan') && !r.sent.some((p) => p.iface === 'LAN'), r.events.join('\n'));
    assert.ok(r.events.includes('acquire wan'), 'the other VIP is not held up');
    const before = r.sent.length;
    open();
    await until(() => r.events.includes('acquire lan'), 'lan acquired');
    await sleep(1);
    const burst = r.sent.slice(before).filter((p) => p.iface === 'LAN').length;
    assert.ok(burst <= 2, `adverts queued behind the hook were coalesced (${burst} sent at once)`);
    assert.ok(r.events.indexOf('acquire lan') < r.events.indexOf('advert LAN 254'));
    assert.deepEqual(transitions.filter((t) => t.startsWith('lan')), ['lan INIT->BACKUP startup', 'lan BACKUP->MASTER timeout']);
    await r.carp.stop();
  });

  it('maintenance is saved before it takes effect, and a saved one applies from the start', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER', 'MASTER');
    await r.carp.setMaintenance(true);
    const saved = r.events.indexOf('save maintenance=true');
    const resign = r.events.findIndex((e, i) => i > saved && e === 'advert LAN 0');
    assert.ok(saved >= 0 && resign > saved, r.events.join('\n'));
    assert.equal(r.carp.status().maintenance, true);
    await r.carp.stop();

    const again = new Rig();
    again.persisted = r.persisted;
    await again.carp.start(site());
    const s = again.carp.status();
    assert.equal(s.maintenance, true);
    assert.equal(s.vips.find((v) => v.name === 'lan')?.effectivePriority, 14, '254 - 240 from the first advert on');
    assert.match(again.logs.join('\n'), /maintenance mode \(persisted\) is on/);
    await again.carp.stop();
  });

  it('a better peer makes us BACKUP; a worse one is preempted; a link down demotes every VIP', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER', 'MASTER');
    r.peerAdvert('LAN', 254); // equal priority: the higher address (fw2, .3) wins the tie
    await until(() => r.state('lan') === 'BACKUP', 'BACKUP after a tie lost on address');
    await until(() => r.events.includes('release lan'), 'released');
    r.peerAdvert('LAN', 100);
    await until(() => r.state('lan') === 'MASTER', 'preempts a worse master');
    assert.equal(r.carp.status().vips.find((v) => v.name === 'lan')?.lastTransition?.reason, 'preempt');
    assert.ok(!r.events.includes('reannounce lan'), 'a takeover announces through acquire, not reannounce');

    // The worse master keeps advertising (it has not heard us yet): we stay MASTER and announce
    // the VIP again, since it may have moved the virtual MAC to its port on the switch.
    r.peerAdvert('LAN', 100);
    await until(() => r.events.includes('reannounce lan'), 're-announced after a contest it won');
    assert.equal(r.state('lan'), 'MASTER');

    r.links.set('LAN', false);
    await until(() => r.state('lan') === 'INIT', 'LAN election down with its link');
    const s = r.carp.status();
    assert.deepEqual(s.demotion.reasons, { 'link:LAN': 240 });
    assert.equal(s.vips.find((v) => v.name === 'wan')?.effectivePriority, 14, 'WAN demoted too');
    await until(() => r.sent.some((p) => p.iface === 'WAN' && p.priority === 14), 'WAN advertises the demotion at once');
    r.links.set('LAN', true);
    await until(() => r.state('lan') === 'MASTER' && r.carp.status().demotion.counter === 0, 'back');
    await r.carp.stop();
  });

  it('garbage never throws: other VHIDs are counted on the socket, bad adverts in the election', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER', 'MASTER');
    const pkt = (payload: number[]) => ({ family: 4 as const, payload: Uint8Array.from(payload), source: '192.168.1.3', destination: '224.0.0.18', ttl: 255 });
    r.deliver('LAN', pkt([0x31, 77, 1, 2]));
    r.deliver('LAN', pkt([]));
    r.deliver('LAN', pkt([0x31, 1, 200, 1, 0, 1, 0, 0, 192, 168, 1, 1]));
    r.deliver('LAN', pkt([0x21, 1]));
    r.deliver('OPT9', pkt([0x31, 1]));
    assert.equal(r.unknown, 3, 'vhid 77, no vhid at all, an interface without VIPs');
    const lan = r.carp.status().vips.find((v) => v.name === 'lan');
    assert.deepEqual(lan?.counters.dropped, { badChecksum: 1, badVersion: 1 });
    assert.equal(r.carp.status().internalErrors, 0);
    assert.equal(lan?.state, 'MASTER');
    await r.carp.stop();
  });

  it('an IPv6 VRRP VIP waits for its link-local address, then starts', async () => {
    const r = new Rig();
    r.linkLocal = undefined;
    const text = EXAMPLE.replace('interval_ms = 200', 'interval_ms = 10');
    await r.carp.start(parseSite(text, 'v6.ini'));
    assert.equal(r.state('lan6'), 'PENDING');
    r.linkLocal = 'fe80::2';
    await until(() => r.state('lan6') === 'MASTER', 'lan6 started once the link-local is there');
    await r.carp.stop();
  });

  it('reconfigure keeps unchanged VIPs running and restarts changed ones', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('lan') === 'MASTER' && r.state('wan') === 'MASTER', 'MASTER');
    const n = r.events.length;
    const res = await r.carp.reconfigure(site('advskew = 5'));
    assert.deepEqual(res, { kept: 1, removed: 1, added: 1 });
    const later = r.events.slice(n);
    assert.ok(later.includes('release wan') && later.includes('remove wan') && later.includes('prepare wan'), later.join('\n'));
    assert.ok(!later.some((e) => e.endsWith(' lan')), 'lan untouched');
    assert.equal(r.state('lan'), 'MASTER');
    await until(() => r.state('wan') === 'MASTER', 'wan again');
    assert.equal(r.carp.status().vips.find((v) => v.name === 'wan')?.effectivePriority, 249);
    assert.deepEqual(await r.carp.reconfigure(site('advskew = 5')), { kept: 2, removed: 0, added: 0 });
    await r.carp.stop();
  });

  it('a port left without VIPs by a new config stops demoting the node', async () => {
    const r = new Rig();
    await r.carp.start(site());
    await until(() => r.state('wan') === 'MASTER', 'MASTER');
    r.links.set('LAN', false);
    await until(() => r.carp.status().demotion.counter === 240, 'demoted by the LAN link');
    const noLan = parseSite(siteText().replace(/\[vip "lan"\][^[]*/, '').replace(/\[dhcp "lan"\][^[]*/, '').replace(/\[dns "resolver"\][^[]*/, ''), 'nolan.ini');
    await r.carp.reconfigure(noLan);
    assert.deepEqual(r.carp.status().demotion.reasons, {});
    assert.equal(r.carp.status().vips.find((v) => v.name === 'wan')?.effectivePriority, 254);
    await r.carp.stop();
  });
});
