/**
 * Config sync in the namespace rig: the real ConfigSync (its standalone
 * runner, src/agent/configsync/runner.ts) as a process in each firewall's
 * namespace, serving XML-RPC over HTTPS on the node's SYNC address from
 * build/sites/ha-pair.ini and loading its firewall with the real nft.
 *
 *   const pair = await syncPair(rig);                  // fw2 first, then fw1 (which pushes at start)
 *   await pair.fw1.applyText(text);                    // `carpd config apply` through the control socket
 *   await pair.fw1.cli(['config', 'history']);         // the CLI, run inside the namespace
 *   await pair.fw2.nft();                              // `nft list table inet carpenter` on fw2
 *   await pair.fw1.python(['status', ...]);           // configsync-probe.py: Python's xmlrpc.client from fw1
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callControl, type ControlResponse } from '../../src/agent/control.js';
import type { ConfigSyncStatus } from '../../src/agent/configsync/index.js';
import { type Host, type Rig, type RigProcess, waitUntil } from './netns.js';
import { haTopology, type HaTopology } from './topology.js';

export const RUNNER = fileURLToPath(new URL('../../src/agent/configsync/runner.js', import.meta.url));
export const EXAMPLE_SITE = readFileSync(fileURLToPath(new URL('../../../build/sites/ha-pair.ini', import.meta.url)), 'utf8');
export const SYNC_ADDRESS = { fw1: '172.16.1.1', fw2: '172.16.1.2' } as const;
export const PASSWORD = 'change-me-too';

export interface SyncNodeOptions {
  /** nft executable for this node's firewall (a wrapper, for fault injection). */
  nft?: string;
  /** Environment, e.g. CARPD_BUILD_VERSION to pose as another firmware. */
  env?: Record<string, string>;
}

export class SyncNode {
  proc!: RigProcess;
  readonly stateDir: string;
  siteFile: string;

  constructor(
    readonly host: Host,
    readonly node: 'fw1' | 'fw2',
    site: string,
    readonly opts: SyncNodeOptions = {},
  ) {
    this.stateDir = join(host.dir, `configsync-${node}`);
    mkdirSync(this.stateDir, { recursive: true });
    this.siteFile = host.writeFile(`site-${node}.ini`, site);
  }

  get socket(): string {
    return join(this.stateDir, 'configsync.sock');
  }

  get certFile(): string {
    return join(this.stateDir, 'tls', 'xmlrpc.crt');
  }

  /** Starts the runner and waits for its ready line. */
  async start(opts: SyncNodeOptions = this.opts): Promise<this> {
    const args = [RUNNER, 'run', '--site', this.siteFile, '--node', this.node, '--state-dir', this.stateDir, '--refresh-ms', '0'];
    if (opts.nft !== undefined) args.push('--nft', opts.nft);
    this.proc = this.host.spawn('node', args, { name: `configsync-${this.node}`, ...(opts.env === undefined ? {} : { env: opts.env }) });
    await this.proc.waitForOutput(/ready revision=/, 20_000);
    return this;
  }

  async stop(): Promise<void> {
    await this.proc.kill('SIGTERM');
  }

  async restart(opts: SyncNodeOptions): Promise<this> {
    await this.stop();
    return this.start(opts);
  }

  /** One control request, as `carpd config ...` sends it. */
  call(req: { cmd: string; [k: string]: unknown }): Promise<ControlResponse> {
    return callControl(this.socket, req, 120_000);
  }

  async applyText(text: string, extra: Record<string, unknown> = {}): Promise<ControlResponse> {
    return this.call({ cmd: 'config.apply', text, file: 'site.ini', by: 'admin', from: 'rig', ...extra });
  }

  async status(): Promise<ConfigSyncStatus> {
    const r = await this.call({ cmd: 'sync.status' });
    assert.ok(r.ok, `sync.status on ${this.node}: ${r.ok ? '' : r.error}`);
    return r.sync as ConfigSyncStatus;
  }

  /** The active config text. */
  async configText(): Promise<string> {
    const r = await this.call({ cmd: 'config.show' });
    assert.ok(r.ok);
    return String(r.text);
  }

  /** `carpd config|sync ...` as a process in the namespace; resolves with exit code and output. */
  async cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.host.exec('node', [RUNNER, 'cli', '--state-dir', this.stateDir, ...args], { timeoutMs: 120_000 });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /** carpenter's nft table as the kernel has it, counters blanked. */
  async nft(): Promise<string> {
    return (await this.host.succeed('nft', ['list', 'table', 'inet', 'carpenter'])).replace(/counter packets \d+ bytes \d+/g, 'counter');
  }

  /** Writes the site into the host dir (for `config apply FILE`). */
  writeSite(name: string, text: string): string {
    return this.host.writeFile(name, text);
  }
}

export interface SyncPair {
  topo: HaTopology;
  fw1: SyncNode;
  fw2: SyncNode;
}

/**
 * The topology with a config-sync runner on each firewall; both
 * start from `site` (default: build/sites/ha-pair.ini) or from their own.
 * fw2 starts first, so fw1's push at start finds it; resolves once that
 * first push has succeeded (fw1 then has fw2's certificate pinned).
 */
export async function syncPair(rig: Rig, opts: { site1?: string; site2?: string; fw1?: SyncNodeOptions; fw2?: SyncNodeOptions } = {}): Promise<SyncPair> {
  const topo = await haTopology(rig);
  const fw2 = await new SyncNode(topo.fw2, 'fw2', opts.site2 ?? EXAMPLE_SITE, opts.fw2).start();
  const fw1 = await new SyncNode(topo.fw1, 'fw1', opts.site1 ?? EXAMPLE_SITE, opts.fw1).start();
  await waitUntil(async () => (await fw1.status()).peers.find((p) => p.node === 'fw2')?.lastSuccessAt !== undefined, {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: 'fw1\'s first push to fw2',
  });
  return { topo, fw1, fw2 };
}

/** The example site with `extra` sections inserted before [rule "wan-default"] (so they match first). */
export function withRulesBefore(site: string, extra: string): string {
  assert.ok(site.includes('[rule "wan-default"]'));
  return site.replace('[rule "wan-default"]', `${extra.trim()}\n\n[rule "wan-default"]`);
}

/** Python's xmlrpc.client and http.client from a namespace (test/rig/configsync-probe.py). */
export const PROBE = fileURLToPath(new URL('../../../test/rig/configsync-probe.py', import.meta.url));

export async function probe(host: Host, args: string[], input?: string): Promise<unknown> {
  const out = await host.succeed('python3', [PROBE, ...args], { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
  return JSON.parse(out) as unknown;
}
