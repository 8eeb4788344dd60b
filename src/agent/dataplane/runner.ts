/**
 * carpd with the dataplane, until the daemon wires it in itself: the real
 * `runDaemon` (election, control socket, config) plus a DataplaneService
 * started before the election and attached to it. For namespace rigs and
 * the benchmark.
 *
 *   node dist/src/agent/dataplane/runner.js --site FILE --node NAME --state-dir DIR [--run-dir DIR]
 *        [--no-firewall] [--no-state-sync] [--commit-budget-ms N]
 *
 * The dataplane's status is served on <run-dir>/dataplane.sock ({"cmd":"status"}).
 */
import { parseArgs } from 'node:util';
import { prepareAddon } from '../addon.js';
import { loadActiveConfig } from '../config-source.js';
import { serveControl } from '../control.js';
import { runDaemon } from '../daemon.js';
import { Logger } from '../log.js';
import { StateStore } from '../store.js';
import { dataplaneSocket } from './runner-socket.js';
import { DataplaneService } from './service.js';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      site: { type: 'string' },
      node: { type: 'string' },
      'state-dir': { type: 'string' },
      'run-dir': { type: 'string' },
      'no-firewall': { type: 'boolean', default: false },
      'no-state-sync': { type: 'boolean', default: false },
      'commit-budget-ms': { type: 'string' },
    },
  });
  const { site: factorySite, node, 'state-dir': stateDir } = values;
  if (factorySite === undefined || node === undefined || stateDir === undefined) throw new Error('usage: runner.js --site FILE --node NAME --state-dir DIR [--run-dir DIR]');
  const runDir = values['run-dir'] ?? stateDir;
  const log = new Logger(node);
  const active = await loadActiveConfig(new StateStore(stateDir), factorySite, node);
  const dp = new DataplaneService({
    node,
    runDir,
    log,
    firewall: !values['no-firewall'],
    stateSync: !values['no-state-sync'],
    ...(values['commit-budget-ms'] === undefined ? {} : { commitBudgetMs: Number(values['commit-budget-ms']) }),
  });
  await dp.start(active.site);
  const server = await serveControl(dataplaneSocket(runDir), async (req) =>
    req.cmd === 'status' ? { ok: true, status: dp.status() } : { ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` },
  );
  await runDaemon({ node, factorySite, stateDir, runDir, log, onCarp: (carp) => dp.attach(carp) });
  server.close();
  await dp.stop();
  return 0;
}

prepareAddon();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dataplane runner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
