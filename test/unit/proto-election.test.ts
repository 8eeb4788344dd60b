import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Action, type CarpConfig, type Election, ElectionNode, type NodeOutput, type State, type Vrrp3Config,
  peekVhid, vrrp3MasterDownMs, vrrp3SkewMs,
} from '../../src/agent/proto/index.js';

// ------------------------------------------------------------ the fake link
//
// Nodes on one shared segment. Every sendAdvert packet reaches every other
// powered node after `latency` ms (multicast) or the node owning the
// destination (unicast); the receiving node hands it to its election with
// that VHID, as the I/O shell demultiplexes on byte 1. Time only moves when
// the simulator moves it.

interface SimNode {
  name: string;
  node: ElectionNode;
  powered: boolean;
  /** Drop everything this node receives (its end of the cable cut). */
  deaf: boolean;
}

interface Logged { at: number; node: string; vhid: number; action: Action }

class Sim {
  now = 0;
  latency = 1;
  readonly nodes: SimNode[] = [];
  readonly log: Logged[] = [];
  /** Who holds each VIP group, after every change. */
  readonly holders: Array<{ at: number; vhid: number; names: string[] }> = [];
  readonly #holding = new Map<string, Set<number>>();
  #queue: Array<{ at: number; seq: number; to: SimNode; payload: Uint8Array; src: string; dst: string; ttl: number }> = [];
  #seq = 0;

  add(name: string, configs: Array<CarpConfig | Vrrp3Config>): SimNode {
    const node = new ElectionNode();
    for (const c of configs) node.add(c);
    const n: SimNode = { name, node, powered: true, deaf: false };
    this.nodes.push(n);
    this.#holding.set(name, new Set());
    return n;
  }

  /** Run a node-level input now and carry out its actions. */
  do(n: SimNode, f: (node: ElectionNode, now: number) => NodeOutput[]): void {
    this.apply(n, f(n.node, this.now));
  }

  start(...ns: SimNode[]): void { for (const n of ns) this.do(n, (x, t) => x.start(t)); }

  /** Power off: no shutdown, no resign, nothing sent or heard again. */
  kill(n: SimNode): void {
    n.powered = false;
    for (const e of n.node.elections) this.#hold(n, e.config.vhid, false);
  }

  /** Power back on with fresh state (same config, same persisted demotion). */
  restart(n: SimNode): void {
    const fresh = new ElectionNode();
    for (const [reason, amount] of Object.entries(n.node.demotion.snapshot().reasons)) fresh.demotion.set(reason, amount);
    for (const e of n.node.elections) fresh.add(e.config);
    n.node = fresh;
    n.powered = true;
    this.start(n);
  }

  apply(n: SimNode, outs: NodeOutput[]): void {
    for (const { election, actions } of outs) {
      for (const a of actions) {
        this.log.push({ at: this.now, node: n.name, vhid: election.config.vhid, action: a });
        if (a.type === 'becomeMaster') this.#hold(n, a.vhid, true);
        if (a.type === 'becomeBackup') this.#hold(n, a.vhid, false);
        if (a.type === 'sendAdvert') {
          for (const p of a.packets) {
            for (const m of this.nodes) {
              if (m === n) continue;
              if (!p.multicast && !m.node.elections.some((e) => Object.values(e.config.sources).includes(p.dst))) continue;
              this.#queue.push({
                at: this.now + this.latency, seq: this.#seq++, to: m, payload: p.payload,
                src: p.src ?? (election.config.sources[p.family] as string), dst: p.dst, ttl: 255,
              });
            }
          }
        }
      }
    }
  }

  /** Hand a raw packet to a node now, as its shell would. */
  receive(to: SimNode, payload: Uint8Array, src: string, dst: string, ttl = 255): void {
    const e = to.node.elections.find((x) => x.config.vhid === peekVhid(payload));
    if (e) this.apply(to, to.node.handle(e, { type: 'packet', payload, src, dst, ttl }, this.now));
  }

  #hold(n: SimNode, vhid: number, on: boolean): void {
    const s = this.#holding.get(n.name)!;
    if (on) s.add(vhid); else s.delete(vhid);
    const names = this.nodes.filter((m) => this.#holding.get(m.name)!.has(vhid)).map((m) => m.name);
    this.holders.push({ at: this.now, vhid, names });
  }

  run(ms: number): void { this.until(this.now + ms); }

  until(t: number): void {
    for (;;) {
      this.#queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const pkt = this.#queue[0];
      let next = pkt?.at ?? Infinity;
      for (const n of this.nodes) {
        const d = n.powered ? n.node.deadline() : null;
        if (d !== null && d < next) next = d;
      }
      if (next > t) break;
      this.now = next;
      if (pkt && pkt.at === next) {
        this.#queue.shift();
        if (pkt.to.powered && !pkt.to.deaf) this.receive(pkt.to, pkt.payload, pkt.src, pkt.dst, pkt.ttl);
      } else {
        for (const n of this.nodes) if (n.powered) this.apply(n, n.node.tick(this.now));
      }
    }
    this.now = t;
  }

  state(n: SimNode, vhid: number): State { return this.election(n, vhid).state; }
  election(n: SimNode, vhid: number): Election { return n.node.elections.find((e) => e.config.vhid === vhid)!; }

  masters(vhid: number): string[] {
    return this.nodes.filter((n) => n.powered && this.state(n, vhid) === 'MASTER').map((n) => n.name);
  }

  transitions(name?: string, vhid?: number) {
    return this.log.filter((l) => (name === undefined || l.node === name) && (vhid === undefined || l.vhid === vhid))
      .flatMap((l) => (l.action.type === 'transition' ? [{ ...l.action, node: l.node }] : []));
  }

  /** Index in the action log of the first `type` action of `name` after `since`. */
  firstIndex(name: string, vhid: number, type: Action['type'], since = 0): number {
    return this.log.findIndex((l) => l.at >= since && l.node === name && l.vhid === vhid && l.action.type === type);
  }

  /** Times, from `since`, at which no node held the VIP group. */
  gaps(vhid: number, since: number): number[] {
    return this.holders.filter((h) => h.vhid === vhid && h.at >= since && h.names.length === 0).map((h) => h.at);
  }

  /** Check one MASTER per group, sampled every `step` ms for `ms`. */
  steady(vhids: number[], ms: number, step = 50): void {
    for (const end = this.now + ms; this.now < end;) {
      this.run(step);
      for (const v of vhids) assert.equal(this.masters(v).length, 1, `t=${this.now} vhid ${v}: masters ${this.masters(v)}`);
    }
  }
}

// -------------------------------------------------------------- configs

const A = { lan: '192.0.2.2', wan: '198.51.100.2' };
const B = { lan: '192.0.2.3', wan: '198.51.100.3' };

function carp(vhid: number, me: { lan: string; wan: string }, advskew: number, extra: Partial<CarpConfig> = {}): CarpConfig {
  const wan = vhid === 2;
  return {
    protocol: 'carp', vhid, advbase: 1, advskew, password: 'change-me',
    addresses: [wan ? '198.51.100.1' : '192.0.2.1'], sources: { 4: wan ? me.wan : me.lan },
    interface: wan ? 'WAN' : 'LAN', counterSeed: BigInt(vhid) << 32n, ...extra,
  };
}

function vrrp(vhid: number, me: { lan: string; wan: string }, priority: number, extra: Partial<Vrrp3Config> = {}): Vrrp3Config {
  const wan = vhid === 2;
  return {
    protocol: 'vrrp3', vhid, priority, interval: 100, family: 4,
    addresses: [wan ? '198.51.100.1' : '192.0.2.1'], sources: { 4: wan ? me.wan : me.lan },
    interface: wan ? 'WAN' : 'LAN', ...extra,
  };
}

type Maker = (vhid: number, me: typeof A, better: boolean, extra?: object) => CarpConfig | Vrrp3Config;
const PROTOCOLS: Array<[string, Maker]> = [
  ['CARP', (v, me, better, extra = {}) => carp(v, me, better ? 0 : 100, extra)],
  ['VRRPv3', (v, me, better, extra = {}) => vrrp(v, me, better ? 200 : 100, extra)],
];

/** A (better) and B, both started, settled with A MASTER of every group. */
function pair(make: Maker, vhids = [1], extraA: object = {}, extraB: object = {}) {
  const sim = new Sim();
  const a = sim.add('A', vhids.map((v) => make(v, A, true, extraA)));
  const b = sim.add('B', vhids.map((v) => make(v, B, false, extraB)));
  sim.start(a, b);
  sim.run(10_000);
  for (const v of vhids) assert.deepEqual(sim.masters(v), ['A']);
  return { sim, a, b };
}

// ---------------------------------------------------------------- tests

describe('election: startup', () => {
  it('CARP: INIT -> BACKUP at start, MASTER after 3 x advbase + advskew/256', () => {
    const sim = new Sim();
    const a = sim.add('A', [carp(1, A, 64)]);
    sim.start(a);
    assert.equal(sim.state(a, 1), 'BACKUP');
    sim.run(3249);
    assert.equal(sim.state(a, 1), 'BACKUP');
    sim.run(1);
    assert.equal(sim.state(a, 1), 'MASTER');
    assert.deepEqual(sim.transitions('A').map((t) => [t.from, t.to, t.reason, t.at]),
      [['INIT', 'BACKUP', 'startup', 0], ['BACKUP', 'MASTER', 'timeout', 3250]]);
    // VIP before the first advert, then one advert per advbase + advskew/256.
    const kinds = sim.log.filter((l) => l.node === 'A').map((l) => l.action.type);
    assert.deepEqual(kinds.slice(0, 4), ['transition', 'transition', 'becomeMaster', 'sendAdvert']);
    sim.run(1250 * 4);
    assert.equal(sim.election(a, 1).status().counters.sent, 5);
  });

  it('VRRPv3: MASTER after Master_Down_Interval = 3 x interval + Skew_Time', () => {
    const sim = new Sim();
    const a = sim.add('A', [vrrp(1, A, 100)]);
    sim.start(a);
    const md = vrrp3MasterDownMs(100, 100);
    sim.run(md - 0.5);
    assert.equal(sim.state(a, 1), 'BACKUP');
    sim.run(0.5);
    assert.equal(sim.state(a, 1), 'MASTER');
    const t = sim.transitions('A').at(-1)!;
    assert.deepEqual([t.reason, t.at], ['timeout', md]);
  });
});

for (const [name, make] of PROTOCOLS) {
  describe(`election over a fake link: ${name}`, () => {
    it('two nodes settle on one MASTER and stay so', () => {
      const { sim } = pair(make);
      sim.steady([1], 20_000);
      assert.equal(sim.transitions('B').filter((t) => t.to === 'MASTER').length, 0);
    });

    it('never two masters in steady state, through kill, restart and preempt', () => {
      const { sim, a, b } = pair(make);
      sim.kill(a);
      sim.run(5_000);
      assert.deepEqual(sim.masters(1), ['B']);
      assert.equal(sim.transitions('B').at(-1)!.reason, 'timeout');
      sim.steady([1], 5_000);
      sim.restart(a);
      sim.run(3_000);
      assert.deepEqual(sim.masters(1), ['A']);
      assert.equal(sim.transitions('A').at(-1)!.reason, 'preempt');
      assert.equal(sim.transitions('B').at(-1)!.reason, 'higher-priority-advert');
      sim.steady([1], 10_000);
      sim.restart(b);
      sim.steady([1], 10_000);
      assert.deepEqual(sim.masters(1), ['A']);
    });

    it('preempt: a better node started later takes over; with preempt off it waits', () => {
      for (const preempt of [true, false]) {
        const sim = new Sim();
        const a = sim.add('A', [make(1, A, true, { preempt })]);
        const b = sim.add('B', [make(1, B, false)]);
        sim.start(b);
        sim.run(10_000);
        sim.start(a);
        sim.run(10_000);
        assert.deepEqual(sim.masters(1), [preempt ? 'A' : 'B'], `preempt=${preempt}`);
        // The VIP never lacked a holder while A took over.
        assert.deepEqual(sim.gaps(1, 5_000), []);
      }
    });

    it('equal rank: the tie is broken by source address, one MASTER remains', () => {
      const sim = new Sim();
      const a = sim.add('A', [make(1, A, true)]);
      const b = sim.add('B', [make(1, B, true)]);
      sim.start(a, b);
      sim.run(10_000);
      // CARP: the lower address wins (ucarp); VRRP: the higher (RFC 5798 6.4.3).
      assert.deepEqual(sim.masters(1), [name === 'CARP' ? 'A' : 'B']);
      sim.steady([1], 10_000);
    });

    it('demotion is node-wide: LAN link down on the master moves WAN and LAN; recovery moves them back', () => {
      const { sim, a } = pair(make, [1, 2]);
      const t0 = sim.now;
      sim.do(a, (n, t) => n.setLink('LAN', false, t));
      assert.equal(sim.state(a, 1), 'INIT');
      sim.run(10);
      // WAN: A advertised its demotion at once and B (preempt) took over.
      assert.deepEqual(sim.masters(2), ['B']);
      sim.run(5_000);
      assert.deepEqual(sim.masters(1), ['B']);
      const wanA = sim.election(a, 2).status();
      if (name === 'CARP') {
        assert.equal(wanA.effectiveAdvskew, 240);
      } else {
        assert.equal(wanA.effectivePriority, 1);
      }
      assert.deepEqual(wanA.demotion.reasons, { 'link:LAN': 240 });
      assert.deepEqual(sim.transitions('A', 1).filter((t) => t.at >= t0).map((t) => t.reason), ['link-down']);
      assert.deepEqual(sim.transitions('A', 2).filter((t) => t.at >= t0).map((t) => [t.to, t.reason]), [['BACKUP', 'demotion']]);
      assert.deepEqual(sim.transitions('B', 2).filter((t) => t.at >= t0).map((t) => t.reason), ['preempt']);
      assert.deepEqual(sim.transitions('B', 1).filter((t) => t.at >= t0).map((t) => t.reason), ['timeout']);
      assert.deepEqual(sim.gaps(2, t0), [], 'WAN handed over without a gap');
      sim.steady([1, 2], 5_000);
      // Link back: undemoted, A preempts both back.
      sim.do(a, (n, t) => n.setLink('LAN', true, t));
      sim.run(5_000);
      assert.deepEqual([sim.masters(1), sim.masters(2)], [['A'], ['A']]);
      sim.steady([1, 2], 5_000);
    });

    it('maintenance: graceful handover with zero gap, both groups; leaving returns them', () => {
      const { sim, a, b } = pair(make, [1, 2]);
      const t0 = sim.now;
      sim.do(a, (n, t) => n.enterMaintenance(t));
      sim.run(5_000);
      for (const v of [1, 2]) {
        assert.deepEqual(sim.masters(v), ['B'], `vhid ${v}`);
        assert.deepEqual(sim.gaps(v, t0), [], `vhid ${v}: no instant without a holder`);
        // B added the VIP before A released it.
        const bUp = sim.firstIndex('B', v, 'becomeMaster', t0), aDown = sim.firstIndex('A', v, 'becomeBackup', t0);
        assert.ok(bUp >= 0 && aDown > bUp, `vhid ${v}: B up at #${bUp}, A down at #${aDown}`);
        assert.deepEqual(sim.transitions('A', v).filter((t) => t.at >= t0).map((t) => t.reason), ['maintenance']);
        assert.deepEqual(sim.transitions('B', v).filter((t) => t.at >= t0).map((t) => t.reason), ['resign-received']);
      }
      const took = sim.transitions('B', 1).find((t) => t.at >= t0)!.at - t0;
      if (name === 'CARP') {
        assert.equal(took, sim.latency, 'carp: the backup takes over on the bow-out advert');
      } else {
        assert.equal(took, sim.latency + vrrp3SkewMs(100, 100), 'vrrp: after Skew_Time');
      }
      const st = sim.election(a, 1).status();
      assert.equal(st.demotion.maintenance, true);
      assert.equal(st.handingOver, false);
      sim.steady([1, 2], 10_000);
      // Still in maintenance across a restart (the caller persists it).
      sim.restart(a);
      sim.steady([1, 2], 10_000);
      assert.deepEqual(sim.masters(1), ['B']);
      // Leave: A preempts back, again with no gap.
      const t1 = sim.now;
      sim.do(a, (n, t) => n.leaveMaintenance(t));
      sim.run(3_000);
      for (const v of [1, 2]) {
        assert.deepEqual(sim.masters(v), ['A']);
        assert.deepEqual(sim.gaps(v, t1), []);
        assert.deepEqual(sim.transitions('A', v).filter((t) => t.at >= t1).map((t) => t.reason), ['preempt']);
      }
      void b;
    });

    it('maintenance with no node to take over: stays MASTER, demoted, after the bound', () => {
      const sim = new Sim();
      const a = sim.add('A', [make(1, A, true)]);
      sim.start(a);
      sim.run(10_000);
      const t0 = sim.now, i0 = sim.log.length;
      sim.do(a, (n, t) => n.enterMaintenance(t));
      sim.run(10_000);
      assert.deepEqual(sim.masters(1), ['A']);
      assert.deepEqual(sim.gaps(1, t0), []);
      const adverts = sim.log.slice(i0).filter((l) => l.action.type === 'sendAdvert')
        .map((l) => (l.action.type === 'sendAdvert' ? l.action.resign : null));
      assert.deepEqual(adverts.slice(0, 4), [true, true, true, false]);
      assert.ok(sim.log.some((l) => l.action.type === 'log' && /no node took over/.test(l.action.message)));
    });

    it('shutdown resigns: the backup takes over sooner than after a silent death', () => {
      const down = (graceful: boolean) => {
        const { sim, a } = pair(make);
        const lastAdvert = sim.log.filter((l) => l.node === 'A' && l.action.type === 'sendAdvert').at(-1)!.at;
        const t0 = sim.now;
        if (graceful) sim.do(a, (n, t) => n.shutdown(t)); else sim.kill(a);
        sim.run(10_000);
        const t = sim.transitions('B').find((x) => x.at >= t0)!;
        assert.equal(sim.state(a, 1), graceful ? 'INIT' : 'MASTER' /* frozen */);
        return { reason: t.reason, after: t.at - (graceful ? t0 : lastAdvert) };
      };
      const soft = down(true), hard = down(false);
      assert.equal(soft.reason, 'resign-received');
      assert.equal(hard.reason, 'timeout');
      if (name === 'CARP') {
        assert.equal(soft.after, 1);
        assert.equal(hard.after, 1 + 3000 + 100 * 1000 / 256);
      } else {
        // RFC 5798: priority 0 -> Master_Down_Timer = Skew_Time.
        assert.equal(soft.after, 1 + vrrp3SkewMs(100, 100));
        assert.equal(hard.after, 1 + vrrp3MasterDownMs(100, 100));
      }
      assert.ok(soft.after < hard.after / 3);
    });

    it('disable hands over and goes to INIT; enable comes back as BACKUP then preempts', () => {
      const { sim, a } = pair(make);
      sim.do(a, (n, t) => n.disable(t));
      assert.equal(sim.state(a, 1), 'INIT');
      assert.equal(sim.transitions('A').at(-1)!.reason, 'disabled');
      sim.run(2_000);
      assert.deepEqual(sim.masters(1), ['B']);
      sim.do(a, (n, t) => n.enable(t));
      assert.equal(sim.transitions('A').at(-1)!.reason, 'startup');
      sim.run(3_000);
      assert.deepEqual(sim.masters(1), ['A']);
    });

    it('unicast peers: adverts go to the peer list, TTL is not checked, election works', () => {
      const sim = new Sim();
      const a = sim.add('A', [make(1, A, true, { unicastPeers: [B.lan] })]);
      const b = sim.add('B', [make(1, B, false, { unicastPeers: [A.lan] })]);
      sim.start(b);
      sim.run(5_000);
      sim.start(a);
      sim.run(5_000);
      assert.deepEqual(sim.masters(1), ['A']);
      const sends = sim.log.filter((l) => l.node === 'A' && l.action.type === 'sendAdvert');
      for (const s of sends) {
        assert.ok(s.action.type === 'sendAdvert');
        assert.deepEqual(s.action.packets.map((p) => [p.dst, p.multicast]), [[B.lan, false]]);
      }
      const pkt = (sends[0]!.action as Extract<Action, { type: 'sendAdvert' }>).packets[0]!;
      sim.receive(b, pkt.payload, A.lan, B.lan, 64);
      assert.equal(sim.election(b, 1).status().counters.dropped.badTtl, undefined);
    });
  });
}

describe('election: packets that are not ours', () => {
  it('CARP: wrong password, other protocol and unknown peer are counted and reported as VHID conflicts', () => {
    const { sim, b } = pair(PROTOCOLS[0]![1], [1], {}, { peers: [A.lan] });
    const t0 = sim.now;
    const intruder = sim.add('C', [carp(1, { lan: '192.0.2.66', wan: '198.51.100.66' }, 0, { password: 'other' })]);
    const stranger = sim.add('D', [carp(1, { lan: '192.0.2.77', wan: '198.51.100.77' }, 0)]);
    const vrrpSpeaker = sim.add('E', [vrrp(1, { lan: '192.0.2.88', wan: '198.51.100.88' }, 100)]);
    stranger.deaf = true; // it never hears A, so it claims MASTER and advertises
    sim.start(intruder, stranger, vrrpSpeaker);
    sim.run(30_000);
    // A, the true master, keeps the VIP; B stays BACKUP and counts the rest.
    assert.equal(sim.state(sim.nodes[0]!, 1), 'MASTER');
    assert.equal(sim.state(b, 1), 'BACKUP');
    const st = sim.election(b, 1).status();
    assert.ok((st.counters.dropped.badHmac ?? 0) > 5, 'wrong password');
    assert.ok((st.counters.dropped.badVersion ?? 0) > 5, 'VRRPv3 on our VHID');
    assert.ok((st.counters.dropped.unknownPeer ?? 0) > 0, 'right password, not in the site file');
    const conflicts = sim.log.filter((l) => l.node === 'B' && l.at >= t0 && l.action.type === 'conflict')
      .map((l) => (l.action.type === 'conflict' ? `${l.action.kind}:${l.action.from}` : ''));
    assert.deepEqual(new Set(conflicts), new Set(['auth:192.0.2.66', 'protocol:192.0.2.88', 'unknown-peer:192.0.2.77']));
    // Rate-limited: a few reports, every packet counted.
    assert.ok(conflicts.length <= 3 * 3 + 3);
    assert.equal(st.counters.conflicts, (st.counters.dropped.badHmac ?? 0) + (st.counters.dropped.badVersion ?? 0) + (st.counters.dropped.unknownPeer ?? 0));
  });

  it('our own advert looped back is dropped as self, not a conflict', () => {
    const { sim, a } = pair(PROTOCOLS[0]![1]);
    const mine = sim.log.filter((l) => l.node === 'A' && l.action.type === 'sendAdvert').at(-1)!.action;
    assert.ok(mine.type === 'sendAdvert');
    sim.receive(a, mine.packets[0]!.payload, A.lan, '224.0.0.18');
    const st = sim.election(a, 1).status();
    assert.equal(st.counters.dropped.self, 1);
    assert.equal(st.counters.conflicts, 0);
    assert.equal(st.state, 'MASTER');
  });

  it('VRRPv3: a different VIP list on our VRID is a conflict; IPv6 packets go to badFamily', () => {
    const { sim, b } = pair(PROTOCOLS[1]![1]);
    const other = sim.add('C', [vrrp(1, { lan: '192.0.2.66', wan: '' }, 250, { addresses: ['192.0.2.99'] })]);
    sim.start(other);
    sim.run(10_000);
    assert.deepEqual(sim.masters(1).includes('A'), true);
    assert.equal(sim.state(b, 1), 'BACKUP');
    const st = sim.election(b, 1).status();
    assert.ok((st.counters.dropped.badAddrList ?? 0) > 0);
    assert.equal(st.lastConflict?.detail, 'badAddrList');
    sim.receive(b, Uint8Array.of(0x31, 1, 100, 1), 'fe80::1', 'ff02::12');
    assert.equal(sim.election(b, 1).status().counters.dropped.badFamily, 1);
  });
});

describe('election: link and status', () => {
  it('link down on the VIP interface goes to INIT and releases; link up restarts as BACKUP', () => {
    const { sim, a } = pair(PROTOCOLS[0]![1]);
    sim.do(a, (n, t) => n.setLink('LAN', false, t));
    assert.deepEqual(sim.transitions('A').at(-1)!.reason, 'link-down');
    assert.ok(sim.log.at(-1)!.action.type !== 'sendAdvert' || sim.log.some((l) => l.action.type === 'becomeBackup'));
    sim.run(5_000);
    sim.do(a, (n, t) => n.setLink('LAN', true, t));
    const t = sim.transitions('A').at(-1)!;
    assert.deepEqual([t.from, t.to, t.reason], ['INIT', 'BACKUP', 'startup']);
    sim.run(3_000);
    assert.deepEqual(sim.masters(1), ['A']);
  });

  it('status reports what carpd status prints', () => {
    const { sim, a } = pair(PROTOCOLS[0]![1]);
    sim.do(a, (n, t) => n.demote('manual', 50, t));
    const s = sim.election(a, 1).status();
    assert.equal(s.protocol, 'carp');
    assert.equal(s.vhid, 1);
    assert.equal(s.state, 'MASTER');
    assert.deepEqual([s.advbase, s.advskew, s.effectiveAdvskew], [1, 0, 50]);
    assert.deepEqual(s.demotion, { counter: 50, reasons: { manual: 50 }, maintenance: false, demoteByte: 1 });
    assert.deepEqual(s.lastTransition && [s.lastTransition.from, s.lastTransition.to, s.lastTransition.reason], ['BACKUP', 'MASTER', 'timeout']);
    assert.ok(s.counters.sent > 5);
    assert.equal(s.counters.received, 0);
    assert.equal(typeof s.deadline, 'number');
    assert.doesNotThrow(() => JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    const b = sim.election(sim.nodes[1]!, 1).status();
    assert.ok(b.counters.received > 5);
    assert.equal(b.lastPeer?.address, A.lan);
  });

  it('a negative demotion promotes: the node becomes the better one', () => {
    const { sim, b } = pair((v, me, better) => carp(v, me, better ? 20 : 100));
    sim.do(b, (n, t) => n.demote('manual', -240, t));
    sim.run(3_000);
    assert.deepEqual(sim.masters(1), ['B']);
    assert.equal(sim.election(b, 1).status().effectiveAdvskew, 0);
    sim.steady([1], 5_000);
  });

  it('rejects bad configuration', () => {
    const n = new ElectionNode();
    assert.throws(() => n.add(carp(0, A, 0)), RangeError);
    assert.throws(() => n.add(carp(1, A, 255)), RangeError);
    assert.throws(() => n.add({ ...vrrp(1, A, 100), sources: {} }), RangeError);
    assert.throws(() => n.add({ ...vrrp(1, A, 100), addresses: ['2001:db8::1'] }), RangeError);
  });
});
