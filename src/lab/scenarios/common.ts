import type { ResultPromise } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** The sessions tool (src/lab/tools/sessions.ts), run in the lab's host namespaces. */
const SESSIONS_TOOL = fileURLToPath(new URL('../tools/sessions.js', import.meta.url));
const SESSIONS_PORT = 7000;

/** What the sessions tool's probe reports (the fields scenarios use). */
export interface SessionsReport {
  sessionsTotal: number;
  sessionsLost: number;
  lostReasons: Record<string, number>;
  maxStallMs: number;
  messagesEchoed: number;
  bulk: { bytes: number; received: number; complete: boolean; error: string; seconds: number };
}

export interface SessionsProbe {
  /** Resolves true once every connection is up and the download is flowing (false after 30 s). */
  established(): Promise<boolean>;
  /** Stop early (SIGTERM: the probe reports what it has). */
  stop(): void;
  /** The probe's report, or undefined with the reason when it printed none. */
  result(): Promise<SessionsReport | { error: string }>;
}

/** Resolves true once `proc`'s output (stdout and stderr) matches `re`; false when it exits or `timeoutMs` passes first. */
function outputMatches(proc: ResultPromise, re: RegExp, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let seen = '';
    const t = setTimeout(() => resolve(false), timeoutMs);
    proc.all?.on('data', (d: Buffer) => {
      seen = (seen + d.toString()).slice(-4096);
      if (re.test(seen)) {
        clearTimeout(t);
        resolve(true);
      }
    });
    void proc.then(() => resolve(false), () => resolve(false));
  });
}

export class ScenarioRun {
  readonly checks: Check[] = [];
  readonly report: Partial<ScenarioReport> & { figures: Record<string, number | string> } = { figures: {} };
  private readonly started = performance.now();
  #pings = 0;

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
    const n = ++this.#pings;
    return {
      stop: async () => {
        proc.kill('SIGINT');
        const r = await proc;
        const output = String(r.all ?? '');
        // Kept next to the console logs: which request went unanswered, and each reply's RTT.
        await writeFile(join(this.lab.dir, `${this.name}-ping${n}.txt`), output).catch(() => {});
        return parsePing(output, intervalMs);
      },
    };
  }

  /** The upstream host's IPv4 address: where the sessions server listens. */
  get upstreamAddress(): string {
    const a = this.lab.topo.hosts.find((h) => h.name === 'upstream')?.addresses.find((x) => !x.includes(':'));
    if (!a) throw new Error(`${this.lab.topo.file} has no IPv4 host "upstream"`);
    return a.split('/')[0]!;
  }

  /** Start the sessions server on the upstream host, listening when this resolves (stop with the returned function). */
  async startSessionsServer(): Promise<() => void> {
    const proc = this.lab.hostSpawn('upstream', [process.execPath, SESSIONS_TOOL, 'serve', '--listen', `0.0.0.0:${SESSIONS_PORT}`]);
    const stop = () => void proc.kill('SIGKILL');
    if (!(await outputMatches(proc, /serving on/, 15_000))) {
      stop();
      throw new Error('the sessions server on the upstream host did not start');
    }
    return stop;
  }

  /**
   * From the client to the upstream host through the VIPs (and the outbound
   * NAT): `conns` connections echoing every 100 ms plus a paced, checksummed
   * download of `bulkMb` MiB at `bulkMbps`.
   */
  startSessions(o: { conns: number; seconds: number; bulkMb: number; bulkMbps: number }): SessionsProbe {
    const proc = this.lab.hostSpawn('client', [
      process.execPath, SESSIONS_TOOL, 'probe', '--target', `${this.upstreamAddress}:${SESSIONS_PORT}`,
      '--conns', String(o.conns), '--interval', '100', '--duration', String(o.seconds),
      '--bulk-mb', String(o.bulkMb), '--bulk-mbps', String(o.bulkMbps), '--json',
    ]);
    const established = outputMatches(proc, new RegExp(`sessions: ${o.conns}/${o.conns} alive, bulk [1-9]`), 30_000);
    return {
      established: () => established,
      stop: () => void proc.kill('SIGTERM'),
      result: async () => {
        const r = await proc;
        const line = String(r.stdout ?? '').split('\n').find((l) => l.startsWith('{"target"'));
        if (!line) return { error: `the probe printed no report (exit ${r.exitCode}): ${String(r.all ?? '').slice(-300)}` };
        return JSON.parse(line) as SessionsReport;
      },
    };
  }

  /** Both nodes' conntrack entries for the sessions port and conntrackd's caches, into the lab dir. */
  async saveConntrack(what: string): Promise<void> {
    const parts: string[] = [];
    for (const node of this.lab.topo.nodes) {
      if (!isAlive(this.lab.state?.nodes[node.name]?.pid)) continue;
      const vm = await this.lab.vm(node.name);
      const cmd = `conntrack -L -p tcp --orig-port-dst ${SESSIONS_PORT} 2>&1 | sort | tail -60; cat /run/carpd/status.json; ls /run/carpd/conntrackd`;
      const r = await vm.exec(cmd, 30_000).catch((e: unknown) => ({ stdout: String(e), exitCode: -1 }));
      parts.push(`== ${node.name}\n${r.stdout}`);
    }
    const file = join(this.lab.dir, `${this.name}-${what}-conntrack.txt`);
    await writeFile(file, parts.join('\n')).catch(() => {});
    this.log(`  conntrack state saved in ${file}`);
  }

  /**
   * Records (once: the first measurement) and checks a probe's report; after
   * a lost session or an incomplete download, keeps both nodes' conntrack
   * state for a look (saveConntrack).
   */
  async checkSessions(what: string, r: SessionsReport | { error: string }): Promise<void> {
    if ('error' in r) {
      this.check(`${what}: sessions measured`, false, r.error);
    } else {
      if (this.report.sessionsTotal === undefined) {
        this.report.sessionsTotal = r.sessionsTotal;
        this.report.sessionsLost = r.sessionsLost;
      }
      const kept = this.check(`${what}: no TCP session lost`, r.sessionsLost === 0, `${r.sessionsLost} of ${r.sessionsTotal} lost ${JSON.stringify(r.lostReasons)}, longest stall ${r.maxStallMs} ms`);
      const complete = this.check(`${what}: the download completes with the right checksum`, r.bulk.complete, `${r.bulk.received}/${r.bulk.bytes} bytes${r.bulk.error ? `, ${r.bulk.error}` : ''}`);
      if (kept && complete) return;
    }
    await this.saveConntrack(what);
  }

  recordPing(p: PingResult): void {
    this.report.pingSent = p.sent;
    this.report.pingLost = p.lost;
    this.report.outageMs = p.outageMs;
    // The upper bound: it also counts moments the pinger itself was starved (TCG VMs on every core).
    this.report.figures.longestReplyGapMs = p.maxGapMs;
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
