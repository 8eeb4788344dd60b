import { readFile } from 'node:fs/promises';
import { ConfigErrors } from '../config/errors.js';
import { parseSite } from '../config/site.js';
import { effectiveSkew } from '../config/skew.js';
import { carpdVersion } from './version.js';
import { loadActiveConfig, requireNode, type ActiveConfig } from './config-source.js';
import { serveControl, type ControlRequest, type ControlResponse } from './control.js';
import { readInterfaces } from './interfaces.js';
import type { Logger } from './log.js';
import { APPLIANCE, controlSocket, isAppliance } from './paths.js';
import { StateStore } from './store.js';

/**
 * `carpd run`: the long-running agent. Loads the active config, serves the
 * control socket and reports what it runs. The election (CARP/VRRP), state
 * sync and config sync plug in here as they land.
 */
export interface DaemonOptions {
  node: string;
  factorySite: string;
  stateDir: string;
  runDir: string;
  log: Logger;
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const store = new StateStore(opts.stateDir);
  let active: ActiveConfig = await loadActiveConfig(store, opts.factorySite, opts.node);
  const startedAt = new Date();
  const persistent = await isPersistent(opts.stateDir);
  const role = () => active.site.nodes.find((n) => n.name === opts.node)?.role ?? 'unknown';

  const status = async () => {
    const node = active.site.nodes.find((n) => n.name === opts.node)!;
    const state = await store.readState();
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
      vips: active.site.vips.map((v) => ({
        name: v.name,
        interface: v.interface,
        address: v.address,
        vhid: v.vhid,
        protocol: v.protocol,
        advbase: v.advbase,
        advskew: effectiveSkew(active.site, v, opts.node),
      })),
    };
  };

  const applyConfig = async (req: ControlRequest): Promise<ControlResponse> => {
    const text = String(req.text ?? '');
    const file = String(req.file ?? 'site.ini');
    try {
      const site = parseSite(text, file);
      requireNode(site, opts.node, file);
      const rev = await store.commitSite(text, {
        by: String(req.by ?? 'local'),
        from: String(req.from ?? 'carpd config apply'),
        note: file,
      });
      active = { site, text, revision: rev.revision, source: store.sitePath };
      opts.log.info('config applied', { revision: rev.revision, from: rev.from, file });
      return { ok: true, revision: rev.revision };
    } catch (err) {
      // Rejected: the running config stays as it was.
      const problems = err instanceof ConfigErrors ? err.errors.map((e) => e.message) : undefined;
      opts.log.warn('config rejected', { file, reason: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      return { ok: false, error: err instanceof Error ? err.message : String(err), problems };
    }
  };

  const server = await serveControl(controlSocket(opts.runDir), async (req) => {
    switch (req.cmd) {
      case 'status':
        return { ok: true, status: await status() };
      case 'config.apply':
        return applyConfig(req);
      case 'config.show':
        return { ok: true, revision: active.revision, text: active.text };
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
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** On an appliance the state dir persists only when the config partition is mounted. */
async function isPersistent(stateDir: string): Promise<boolean> {
  if (!isAppliance()) return true;
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  return stateDir.startsWith(APPLIANCE.configMount + '/') && mounts.split('\n').some((l) => l.split(' ')[1] === APPLIANCE.configMount);
}
