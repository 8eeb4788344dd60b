import type { ResultPromise } from 'execa';
import { sleep } from '../console.js';
import { isAlive } from '../machine.js';
import type { Lab } from '../lab.js';
import { parsePing, type PingResult } from '../measure/ping.js';
import { vipStates } from '../status.js';

/**
 * What scenarios share: reading every node's VIP states from carpd, waiting
 * for a condition, pinging from a host, and collecting checks and figures
 * into one report with stable camelCase fields for CI.
 */
export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ScenarioReport {
  scenario: string;
  passed: boolean;
  seconds: number;
  masterBefore?: string;
  masterAfter?: string;
  pingSent?: number;
  pingLost?: number;
  outageMs?: number;
  sessionsTotal?: number;
  sessionsLost?: number;
  takeoverMs?: number;
  /** Extra figures, e.g. the second measurement of a scenario (fallback). */
  figures: Record<string, number | string>;
  nodes: Record<string, { vips: Record<string, string> }>;
  checks: Check[];
}

export type NodeStates = Record<string, Record<string, string>>;

export class ScenarioRun {
  readonly checks: Check[] = [];
  readonly report: Partial<ScenarioReport> & { figures: Record<string, number | string> } = { figures: {} };
  private readonly started = performance.now();

  constructor(
    readonly lab: Lab,
    readonly name: string,
    readonly log: (line: string) => void,
  ) {}

  get primary(): string {
    const p = this.lab.site.nodes.find((n) => n.role === 'primary')!.name;
    return this.lab.topo.nodes.find((n) => n.siteNode === p)!.name;
  }

  get secondary(): string {
    return this.lab.topo.nodes.find((n) => n.name !== this.primary)!.name;
  }

  get vipNames(): string[] {
    return this.lab.site.vips.map((v) => v.name);
  }

  check(name: string, ok: boolean, detail?: string): boolean {
    this.checks.push({ name, ok, ...(detail ? { detail } : {}) });
    this.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
    return ok;
  }

  /** VIP states from every running VM's carpd; a VM that is off reports nothing. */
  async states(): Promise<NodeStates> {
    const out: NodeStates = {};
    for (const node of this.lab.topo.nodes) {
      out[node.name] = isAlive(this.lab.state?.nodes[node.name]?.pid) ? await vipStates(this.lab, node.name).catch(() => ({})) : {};
    }
    return out;
  }

  /**
   * The node holding every VIP as MASTER while no other node is MASTER of any
   * (BACKUP, or INIT on a node whose link is down); undefined otherwise.
   */
  soleMaster(states: NodeStates): string | undefined {
    const masters = Object.entries(states).filter(([, v]) => this.vipNames.every((n) => v[n] === 'MASTER'));
    if (masters.length !== 1) return undefined;
    const others = Object.entries(states).filter(([n]) => n !== masters[0]![0]);
    return others.every(([, v]) => this.vipNames.every((n) => v[n] !== 'MASTER')) ? masters[0]![0] : undefined;
  }

  /** No VIP is MASTER on two nodes at once. */
  noSplitBrain(states: NodeStates): boolean {
    return this.vipNames.every((vip) => Object.values(states).filter((v) => v[vip] === 'MASTER').length <= 1);
  }

  /** Poll until `fn` returns a value; resolves with it and the elapsed ms, or undefined after the timeout. */
  async waitUntil<T>(fn: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 300): Promise<{ value: T; ms: number } | undefined> {
    const t = performance.now();
    for (;;) {
      const v = await fn();
      if (v !== undefined) return { value: v, ms: performance.now() - t };
      if (performance.now() - t > timeoutMs) return undefined;
      await sleep(intervalMs);
    }
  }

  /** The scenario's starting point: the primary holds every VIP. Records masterBefore; false (and a failed check) if not. */
  async startSettled(what: string): Promise<boolean> {
    const before = await this.waitForMaster(this.primary, 90_000);
    this.report.masterBefore = before ? this.primary : undefined;
    return this.check(`${this.primary} is master before ${what}`, before !== undefined);
  }

  /** The LAN's IPv4 VIP: what the client uses as its gateway and pings. */
  get lanVip(): { address: string; protocol: string; advbase: number; intervalMs?: number } {
    const v = this.lab.site.vips.find((x) => x.interface === 'LAN' && !x.address.includes(':'));
    if (!v) throw new Error(`${this.lab.topo.site} has no IPv4 VIP on LAN`);
    return { ...v, address: v.address.split('/')[0]! };
  }

  async waitForMaster(node: string, timeoutMs: number): Promise<{ states: NodeStates; ms: number } | undefined> {
    const r = await this.waitUntil(async () => {
      const s = await this.states();
      return this.soleMaster(s) === node ? s : undefined;
    }, timeoutMs);
    return r && { states: r.value, ms: r.ms };
  }

  /** Ping `target` from a lab host every `intervalMs` until stop() is called. */
  startPing(host: string, target: string, intervalMs = 10): { stop: () => Promise<PingResult> } {
    const proc: ResultPromise = this.lab.hostSpawn(host, ['ping', '-D', '-n', '-i', String(intervalMs / 1000), '-W', '1', target]);
    return {
      stop: async () => {
        proc.kill('SIGINT');
        const r = await proc;
        return parsePing(String(r.all ?? ''), intervalMs);
      },
    };
  }

  recordPing(p: PingResult): void {
    this.report.pingSent = p.sent;
    this.report.pingLost = p.lost;
    this.report.outageMs = p.outageMs;
  }

  /**
   * Ping the LAN VIP from the client while `action` makes `to` the master;
   * records takeoverMs (from the action to carpd on `to` reporting MASTER for
   * every VIP), masterAfter and the ping figures.
   */
  async handover(to: string, action: () => Promise<void>, tailMs = 1000): Promise<{ moved: boolean; ping: PingResult }> {
    const ping = this.startPing('client', this.lanVip.address, 10);
    await sleep(1000);
    const t0 = performance.now();
    await action();
    const moved = await this.waitForMaster(to, 30_000);
    const takeoverMs = performance.now() - t0;
    await sleep(tailMs);
    const p = await ping.stop();
    this.report.takeoverMs = moved ? Math.round(takeoverMs) : undefined;
    this.report.masterAfter = moved ? to : this.report.masterAfter;
    this.recordPing(p);
    return { moved: moved !== undefined, ping: p };
  }

  recordNodes(states: NodeStates): void {
    this.report.nodes = Object.fromEntries(Object.entries(states).map(([n, v]) => [n, { vips: v }]));
  }

  finish(): ScenarioReport {
    return {
      scenario: this.name,
      passed: this.checks.length > 0 && this.checks.every((c) => c.ok),
      seconds: Math.round((performance.now() - this.started) / 100) / 10,
      nodes: {},
      ...this.report,
      checks: this.checks,
    };
  }
}
