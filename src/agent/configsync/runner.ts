/**
 * Config sync on its own, without the election: for namespace rigs, the
 * benchmark, and trying it out on a workstation. carpd proper runs the same
 * ConfigSync inside its daemon.
 *
 *   node dist/src/agent/configsync/runner.js run --site FILE --node NAME --state-dir DIR
 *        [--nft PATH] [--no-firewall] [--refresh-ms N] [--no-push-on-start]
 *   node dist/src/agent/configsync/runner.js cli --state-dir DIR [--json] [--force] config|sync ...
 *
 * `run` serves the XML-RPC endpoint on the node's SYNC address and the
 * control socket <state-dir>/configsync.sock, prints "ready ..." once both
 * listen, and stops on SIGTERM/SIGINT. `cli` is `carpd config|sync ...`
 * against that socket.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadActiveConfig } from '../config-source.js';
import { callControl, serveControl } from '../control.js';
import { Logger } from '../log.js';
import { StateStore } from '../store.js';
import { runSyncCli, SyncUsageError } from './cli.js';
import { ConfigSync } from './config-sync.js';
import { handleSyncCommand } from './control.js';

export function runnerSocket(stateDir: string): string {
  return join(stateDir, 'configsync.sock');
}

async function run(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const node = str('node');
  const stateDir = str('state-dir');
  const site = str('site');
  if (node === undefined || stateDir === undefined || site === undefined) throw new SyncUsageError('run needs --site, --node and --state-dir');
  const log = new Logger(node);
  const active = await loadActiveConfig(new StateStore(stateDir), site, node);
  const nft = str('nft');
  const sync = new ConfigSync({
    node,
    stateDir,
    log,
    active,
    firewall: values['no-firewall'] === true ? false : { ...(nft === undefined ? {} : { nft: { nft } }) },
    peerRefreshMs: Number(str('refresh-ms') ?? 30_000),
    pushOnStart: values['no-push-on-start'] !== true,
  });
  await sync.start();
  const server = await serveControl(runnerSocket(stateDir), async (req) => (await handleSyncCommand(sync, req)) ?? { ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` });
  const s = sync.status();
  log.info('ready', { revision: s.revision, role: s.role, endpoint: s.endpoint.listening.join(',') || 'none', fingerprint: s.endpoint.fingerprint });
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close();
      void sync.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function cli(values: Record<string, string | boolean | undefined>, args: string[]): Promise<number> {
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined;
  if (stateDir === undefined) throw new SyncUsageError('cli needs --state-dir');
  const [cmd, ...rest] = args;
  const r = await runSyncCli(cmd, rest, {
    call: (req) => callControl(runnerSocket(stateDir), req, 120_000),
    readFile: (p) => readFile(p, 'utf8'),
    json: values.json === true,
    force: values.force === true,
    raw: values.raw === true,
    user: process.env.USER ?? 'root',
  });
  if (r === undefined) throw new SyncUsageError(`unknown command ${args.join(' ')}`);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      site: { type: 'string' },
      node: { type: 'string' },
      'state-dir': { type: 'string' },
      nft: { type: 'string' },
      'no-firewall': { type: 'boolean' },
      'no-push-on-start': { type: 'boolean' },
      'refresh-ms': { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      raw: { type: 'boolean' },
    },
  });
  const [mode, ...rest] = positionals;
  if (mode === 'run') return run(values);
  if (mode === 'cli') return cli(values, rest);
  throw new SyncUsageError('usage: runner.js run ... | runner.js cli ...');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`configsync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof SyncUsageError ? 2 : 1);
  },
);
