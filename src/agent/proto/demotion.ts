// The node-wide demotion counter shared by every election of a node, so that
// all VIP groups (WAN, LAN, ...) demote and move together.

import { CARP_MAXSKEW } from './carp.js';

export const MAINTENANCE = 'maintenance';

export interface DemotionSnapshot {
  /** Sum of the adjustments, in CARP skew units (FreeBSD net.inet.carp.demotion). */
  counter: number;
  /** Active reasons and their adjustments, e.g. { 'link:LAN': 240 }. */
  reasons: Record<string, number>;
  maintenance: boolean;
  /** OpenBSD demote byte advertised by CARP. */
  demoteByte: number;
}

/**
 * The node's demotion counter, shared by all its elections. Each reason
 * ("link:LAN", "maintenance", "manual", ...) holds an adjustment; the counter
 * is their sum and may be negative (FreeBSD allows a negative demotion).
 * Persisting maintenance across restarts is the caller's job: set it again
 * before start.
 */
export class NodeDemotion {
  readonly #adj = new Map<string, number>();

  /** Set a reason's adjustment (default 240, CARP_MAXSKEW). Returns true if it changed. */
  set(reason: string, amount: number = CARP_MAXSKEW): boolean {
    if (this.#adj.get(reason) === amount) return false;
    if (amount === 0) return this.clear(reason);
    this.#adj.set(reason, amount);
    return true;
  }

  clear(reason: string): boolean {
    return this.#adj.delete(reason);
  }

  get counter(): number {
    let n = 0;
    for (const v of this.#adj.values()) n += v;
    return n;
  }

  get maintenance(): boolean {
    return this.#adj.has(MAINTENANCE);
  }

  /** OpenBSD's demote byte: one per active positive reason, as carpdemote counts. */
  get demoteByte(): number {
    let n = 0;
    for (const v of this.#adj.values()) if (v > 0) n++;
    return Math.min(n, 255);
  }

  snapshot(): DemotionSnapshot {
    return {
      counter: this.counter, reasons: Object.fromEntries(this.#adj),
      maintenance: this.maintenance, demoteByte: this.demoteByte,
    };
  }
}
