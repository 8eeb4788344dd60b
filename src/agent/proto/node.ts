// One node's elections and the node-wide inputs that fan out to all of them.

import { CARP_MAXSKEW } from './carp.js';
import { MAINTENANCE, NodeDemotion } from './demotion.js';
import { type Action, Election, type ElectionConfig, type ElectionEvent } from './election.js';

export interface NodeOutput { election: Election; actions: Action[] }

/**
 * All elections of one node sharing one NodeDemotion: the node-wide inputs
 * (link state, demotion, maintenance, enable/disable, start/shutdown) fan out
 * to every election, so all VIP groups demote together.
 */
export class ElectionNode {
  readonly demotion = new NodeDemotion();
  readonly elections: Election[] = [];

  add(config: ElectionConfig): Election {
    const e = new Election(config, this.demotion);
    this.elections.push(e);
    return e;
  }

  /** Deliver an event to one election (packets, timers). */
  handle(e: Election, ev: ElectionEvent, now: number): NodeOutput[] {
    return [{ election: e, actions: e.handle(ev, now).actions }];
  }

  /** Deliver a timer event to every election whose deadline has passed. */
  tick(now: number): NodeOutput[] {
    return this.elections.filter((e) => { const d = e.deadline(); return d !== null && d <= now; })
      .map((e) => ({ election: e, actions: e.handle({ type: 'timer' }, now).actions }));
  }

  deadline(): number | null {
    let d: number | null = null;
    for (const e of this.elections) {
      const x = e.deadline();
      if (x !== null && (d === null || x < d)) d = x;
    }
    return d;
  }

  start(now: number): NodeOutput[] { return this.#all({ type: 'start' }, now); }
  shutdown(now: number): NodeOutput[] { return this.#all({ type: 'shutdown' }, now); }
  disable(now: number): NodeOutput[] { return this.#all({ type: 'disable' }, now); }
  enable(now: number): NodeOutput[] { return this.#all({ type: 'enable' }, now); }

  /** Set or clear a demotion reason (amount in CARP skew units, default 240). */
  demote(reason: string, amount: number | null, now: number): NodeOutput[] {
    const changed = amount === null ? this.demotion.clear(reason) : this.demotion.set(reason, amount);
    return changed ? this.#all({ type: 'demotion' }, now) : [];
  }

  enterMaintenance(now: number): NodeOutput[] { return this.demote(MAINTENANCE, CARP_MAXSKEW, now); }
  leaveMaintenance(now: number): NodeOutput[] { return this.demote(MAINTENANCE, null, now); }

  /**
   * An interface's link changed: its elections go to INIT (down) or restart
   * (up), and the whole node is demoted while it is down.
   */
  setLink(iface: string, up: boolean, now: number): NodeOutput[] {
    const out: NodeOutput[] = [];
    const mine = this.elections.filter((e) => e.config.interface === iface);
    if (!up) for (const e of mine) out.push({ election: e, actions: e.handle({ type: 'link', up }, now).actions });
    if (mine.length > 0) out.push(...this.demote(`link:${iface}`, up ? null : CARP_MAXSKEW, now));
    if (up) for (const e of mine) out.push({ election: e, actions: e.handle({ type: 'link', up }, now).actions });
    return out.filter((o) => o.actions.length > 0);
  }

  #all(ev: ElectionEvent, now: number): NodeOutput[] {
    return this.elections.map((e) => ({ election: e, actions: e.handle(ev, now).actions }));
  }
}
