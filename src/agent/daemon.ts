import { readFile } from 'node:fs/promises';
import { effectiveSkew } from '../config/skew.js';
import type { Site } from '../config/types.js';
import { carpdVersion } from './version.js';
import { loadActiveConfig, type ActiveConfig } from './config-source.js';
import { serveControl } from './control.js';
import { readInterfaces } from './interfaces.js';
import type { Logger } from './log.js';
import { APPLIANCE, controlSocket, isAppliance } from './paths.js';
import { StateStore } from './store.js';
import { CarpService, type CarpPersisted, type VipStatusView } from './carp/service.js';
import { ConfigSync, electionUnit, handleSyncCommand } from './configsync/index.js';
import { DataplaneService, type DataplaneOptions } from './dataplane/service.js';
import { buildSummary, SummaryWriter } from './summary.js';

/**
 * `carpd run`: the long-running agent. Loads the active config, runs the
 * election for every VIP (carp/service.ts), serves the control socket and
 * reports what it runs. State sync and config sync plug in through `onCarp`:
 *
 *   carp.on('transition', ({ vip, from, to, reason }) => ...)   // after every state change
 *   carp.beforeMaster(async ({ vip, reason }) => ...)            // awaited before a VIP is taken over
 */
export interface DaemonOptions {
  node: string;
  factorySite: string;
  stateDir: string;
  runDir: string;
  log: Logger;
  /** Called with the election service before it starts (hooks and listeners go here). */
  onCarp?: (carp: CarpService) => void;
  /** Load the site's nftables firewall (default true; rigs that test the election alone turn it off). */
  firewall?: boolean;
  /** Run conntrackd when the site has state sync (default true). */
  stateSync?: boolean;
  /** Dataplane knobs (rigs and benchmarks: commit budget, resync timing). */
  dataplane?: Partial<Omit<DataplaneOptions, 'node' | 'runDir' | 'log' | 'firewall' | 'stateSync'>>;
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const store = new StateStore(opts.stateDir);
  let active: ActiveConfig = await loadActiveConfig(store, opts.factorySite, opts.node);
  const startedAt = new Date();
  const persistent = await isPersistent(opts.stateDir);
  const role = () => active.site.nodes.find((n) => n.name === opts.node)?.role ?? 'unknown';

  // The dataplane comes up before the election: a node never announces
  // itself master before its firewall, NAT and conntrackd are in place.
  const dataplane = new DataplaneService({
    ...opts.dataplane,
    node: opts.node,
    runDir: opts.runDir,
    log: opts.log,
    firewall: opts.firewall !== false,
    stateSync: opts.stateSync !== false,
  });
  await dataplane.start(active.site);

  const carp = new CarpService({
    node: opts.node,
    log: opts.log,
    persistence: {
      load: async () => ((await store.readState()).carp as CarpPersisted | undefined) ?? { maintenance: false },
      save: async (p) => {
        await store.updateState((s) => {
          s.carp = p;
        });
      },
    },
  });
  dataplane.attach(carp);
  opts.onCarp?.(carp);
  try {
    await carp.start(active.site);
  } catch (err) {
    // Without raw sockets or ip there is no election, but status and config still work.
    const msg = err instanceof Error ? err.message : String(err);
    carp.fail(msg);
    opts.log.error('election not started', { reason: msg });
  }

  // <run-dir>/status.json; it reads config sync's status, so it is written only once that runs (start() below).
  const summary = new SummaryWriter(
    opts.runDir,
    () => buildSummary({ node: opts.node, role: role(), revision: active.revision, carp: carp.status(), sync: sync.status(), dataplane: dataplane.status() }),
    (err) => opts.log.warn('status.json not written', { reason: err instanceof Error ? err.message : String(err) }),
  );

  // Config sync owns every config change from here on (local apply, pushes
  // received, rollback): it switches the dataplane (firewall, conntrackd.conf)
  // and the elections together, or neither. Both already run the active
  // config, so nothing is applied again at start.
  const sync = new ConfigSync({
    node: opts.node,
    stateDir: opts.stateDir,
    log: opts.log,
    active,
    firewall: false,
    applyOnStart: false,
    services: [
      dataplane.unit(),
      electionUnit({
        get running() {
          return carp.running;
        },
        reconfigure: async (site) => {
          const r = await carp.reconfigure(site);
          opts.log.info('elections reconfigured', r);
          return r;
        },
      }),
    ],
    onActivated: (next) => {
      active = { site: next.site, text: next.text, revision: next.revision, source: next.source ?? store.sitePath };
      void summary.update();
    },
  });
  await sync.start();

  const status = async () => {
    const node = active.site.nodes.find((n) => n.name === opts.node)!;
    const state = await store.readState();
    const { vips, ...election } = carp.status();
    return {
      version: carpdVersion(),
      nodeVersion: process.version,
      node: opts.node,
      role: node.role,
      cluster: active.site.cluster.name,
      pid: process.pid,
      appliance: isAppliance(),
      startedAt: startedAt.toISOString(),
      uptimeSec: Math.round((Date.now() - startedAt.getTime()) / 1000),
      bootCount: state.bootCount,
      config: { revision: active.revision, source: active.source, stateDir: opts.stateDir, persistent },
      interfaces: await readInterfaces(Object.keys(node.interfaces)),
      carp: election,
      vips: carpVips(active.site, opts.node, vips),
      sync: sync.status(),
      dataplane: dataplane.status(),
    };
  };

  // The cheap status for pollers (summary.ts): on every transition, a VIP in
  // place or a new config, else checked each second.
  carp.on('transition', () => void summary.update());
  carp.on('held', () => void summary.update());
  summary.start();

  const server = await serveControl(controlSocket(opts.runDir), async (req) => {
    const synced = await handleSyncCommand(sync, req);
    if (synced !== undefined) return synced;
    switch (req.cmd) {
      case 'status':
        return { ok: true, status: await status() };
      case 'carp.maintenance':
        await carp.setMaintenance(req.on === true);
        return { ok: true, maintenance: carp.status().maintenance };
      case 'carp.disable':
        carp.disable();
        return { ok: true, enabled: false };
      case 'carp.enable':
        carp.enable();
        return { ok: true, enabled: true };
      case 'carp.demote': {
        if (req.clear === true) return { ok: true, manual: carp.demote('clear') };
        const delta = Number(req.delta);
        if (!Number.isInteger(delta) || Math.abs(delta) > 10_000) return { ok: false, error: `demote: bad amount ${JSON.stringify(req.delta)}` };
        return { ok: true, manual: carp.demote(delta) };
      }
      default:
        return { ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` };
    }
  });

  opts.log.info('ready', {
    version: carpdVersion(),
    node: opts.node,
    role: role(),
    cluster: active.site.cluster.name,
    revision: active.revision,
    config: active.source,
    persistent,
  });

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      opts.log.info('stopping', { signal: sig });
      server.close();
      summary.stop(); // one last write once the VIPs are released
      // Resign and release every VIP so the peer takes over at once.
      Promise.all([sync.stop(), carp.stop()]).then(() => Promise.all([dataplane.stop(), summary.update()])).then(() => resolve(), (err: unknown) => {
        opts.log.error('stopping the election failed', { reason: err instanceof Error ? err.message : String(err) });
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** The configured VIPs with their election state (status.vips keeps its earlier fields). */
function carpVips(site: Site, node: string, running: VipStatusView[]) {
  const live = new Map(running.map((v) => [v.name, v]));
  return site.vips.map((v) => ({
    name: v.name,
    interface: v.interface,
    address: v.address,
    vhid: v.vhid,
    protocol: v.protocol,
    advbase: v.advbase,
    advskew: effectiveSkew(site, v, node),
    ...(live.get(v.name) ?? {}),
  }));
}

/** On an appliance the state dir persists only when the config partition is mounted. */
async function isPersistent(stateDir: string): Promise<boolean> {
  if (!isAppliance()) return true;
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  return stateDir.startsWith(APPLIANCE.configMount + '/') && mounts.split('\n').some((l) => l.split(' ')[1] === APPLIANCE.configMount);
}
