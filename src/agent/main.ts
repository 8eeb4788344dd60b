/**
 * carpd: the HA agent of a carpenter appliance.
 *
 *   carpd run    [--site FILE] [--node NAME] [--state-dir DIR] [--run-dir DIR]
 *   carpd status [--json] [--run-dir DIR | --state-dir DIR]
 *   carpd config apply FILE [--run-dir DIR | --state-dir DIR]
 *   carpd config show
 *   carpd maintenance enter|leave
 *   carpd carp disable|enable
 *   carpd demote +N|-N|clear
 *   carpd boot   (appliance only: name interfaces, set addresses)
 *   carpd version
 *
 * On an appliance every path has a default (see paths.ts); elsewhere (test
 * rigs, your own host) give --site, --node and --state-dir.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { carpdVersion } from './version.js';
import { callControl, type ControlResponse } from './control.js';
import { runDaemon } from './daemon.js';
import { Logger } from './log.js';
import { APPLIANCE, controlSocket, isAppliance } from './paths.js';
import { formatStatus, type StatusView } from './status-view.js';
import { runBoot } from './boot.js';
import { prepareAddon } from './addon.js';
import { runSyncCli, SYNC_USAGE, SyncUsageError } from './configsync/cli.js';

const USAGE = `usage: carpd <command> [options]

commands:
  run                 run the agent (supervised by init on an appliance)
  status              show the agent's state (--json for scripts)
${SYNC_USAGE}  maintenance enter   persistent maintenance mode: demote every VIP (skew +240),
                      hand MASTER over gracefully; survives carpd and node restarts
  maintenance leave   back to the configured skews (preempt takes the VIPs back)
  carp disable        temporarily stop the election on this node: resign and
                      release every VIP (until \`carp enable\` or carpd restarts)
  carp enable         take part in the election again
  demote +N | -N      raise (or lower: a negative demotion promotes) this node's
                      skew by N for every VIP, like FreeBSD's net.inet.carp.demotion
  demote clear        remove the manual demotion
  boot                appliance start-up: name NICs WAN/LAN/SYNC, set addresses
  version             print the version

options:
  --site FILE         factory site config (appliance: ${APPLIANCE.factorySite})
  --node NAME         this node's name (appliance: from ${APPLIANCE.nodeFile})
  --state-dir DIR     persistent state (appliance: ${APPLIANCE.stateDir})
  --run-dir DIR       control socket dir (default: the state dir; appliance: ${APPLIANCE.runDir})
  --json              machine-readable output
  --force             config apply / rollback / sync push: push even to a peer
                      running another carpd version
  --raw               config diff: compare the stored files, comments included
  --no-firewall       run: do not load the site's nftables firewall (rigs)
  --no-state-sync     run: do not run conntrackd even if the site syncs state (rigs)
  --commit-budget-ms N  run: longest a takeover waits for conntrackd's commit
                      of the peer's states before announcing (default 2000)
  -h, --help          this text
`;

class UsageError extends Error {}

async function resolvePaths(values: Record<string, string | boolean | undefined>) {
  const appliance = isAppliance();
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  let node = str('node');
  if (!node && appliance) node = (await readFile(APPLIANCE.nodeFile, 'utf8')).trim();
  const stateDir = str('state-dir') ?? (appliance ? await applianceStateDir() : undefined);
  const runDir = str('run-dir') ?? (appliance && !str('state-dir') ? APPLIANCE.runDir : stateDir);
  const factorySite = str('site') ?? (appliance ? APPLIANCE.factorySite : undefined);
  return { node, stateDir, runDir, factorySite };
}

async function applianceStateDir(): Promise<string> {
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  const mounted = mounts.split('\n').some((l) => l.split(' ')[1] === APPLIANCE.configMount);
  return mounted ? APPLIANCE.stateDir : APPLIANCE.volatileStateDir;
}

/** `demote -50` would read as an option: take the amount out before parseArgs. */
function splitDemote(argv: string[]): { argv: string[]; amount?: string } {
  const i = argv.indexOf('demote');
  if (i < 0 || i + 1 >= argv.length) return { argv };
  const amount = argv[i + 1] as string;
  if (!/^([+-]?\d+|clear)$/.test(amount)) return { argv };
  return { argv: [...argv.slice(0, i + 1), ...argv.slice(i + 2)], amount };
}

async function main(rawArgv: string[]): Promise<number> {
  const { argv, amount } = splitDemote(rawArgv);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      site: { type: 'string' },
      node: { type: 'string' },
      'state-dir': { type: 'string' },
      'run-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'no-firewall': { type: 'boolean', default: false },
      'no-state-sync': { type: 'boolean', default: false },
      'commit-budget-ms': { type: 'string' },
      raw: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [cmd, sub, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
    return cmd || values.help ? 0 : 2;
  }
  const paths = await resolvePaths(values);
  const socket = () => {
    if (!paths.runDir) throw new UsageError('give --run-dir or --state-dir (where carpd run keeps its socket)');
    return controlSocket(paths.runDir);
  };

  switch (cmd) {
    case 'version':
      process.stdout.write(values.json ? JSON.stringify({ version: carpdVersion(), node: process.version }) + '\n' : `carpd ${carpdVersion()}\n`);
      return 0;
    case 'run': {
      if (!paths.node || !paths.stateDir || !paths.factorySite) {
        throw new UsageError('carpd run needs --site, --node and --state-dir (they default only on an appliance)');
      }
      const log = new Logger(paths.node);
      log.info('starting', { version: carpdVersion(), pid: process.pid });
      const budget = values['commit-budget-ms'];
      if (budget !== undefined && !(Number(budget) >= 0)) throw new UsageError(`--commit-budget-ms: not a number of milliseconds: ${budget}`);
      await runDaemon({
        node: paths.node,
        factorySite: paths.factorySite,
        stateDir: paths.stateDir,
        runDir: paths.runDir!,
        log,
        firewall: !values['no-firewall'],
        stateSync: !values['no-state-sync'],
        dataplane: budget === undefined ? {} : { commitBudgetMs: Number(budget) },
      });
      return 0;
    }
    case 'status': {
      const res = await callControl(socket(), { cmd: 'status' });
      if (!res.ok) throw new Error(res.error);
      const s = res.status as StatusView;
      process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
      return 0;
    }
    case 'config':
    case 'sync': {
      const r = await runSyncCli(cmd, positionals.slice(1), {
        call: (req) => callControl(socket(), req, 120_000),
        readFile: (p) => readFile(p, 'utf8'),
        json: values.json,
        force: values.force,
        raw: values.raw,
        user: process.env.USER ?? 'root',
      }).catch((err: unknown) => {
        throw err instanceof SyncUsageError ? new UsageError(err.message) : err;
      });
      if (r === undefined) throw new UsageError(`unknown command "${cmd} ${sub ?? ''}"`);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case 'maintenance': {
      if (sub !== 'enter' && sub !== 'leave') throw new UsageError('usage: carpd maintenance enter|leave');
      return report(await callControl(socket(), { cmd: 'carp.maintenance', on: sub === 'enter' }), values.json, `maintenance mode ${sub === 'enter' ? 'entered' : 'left'}`);
    }
    case 'carp': {
      if (sub !== 'disable' && sub !== 'enable') throw new UsageError('usage: carpd carp disable|enable');
      return report(await callControl(socket(), { cmd: `carp.${sub}` }), values.json, `CARP ${sub}d on this node`);
    }
    case 'demote': {
      if (amount === undefined) throw new UsageError('usage: carpd demote +N|-N|clear');
      const req = amount === 'clear' ? { cmd: 'carp.demote', clear: true } : { cmd: 'carp.demote', delta: Number(amount) };
      const res = await callControl(socket(), req);
      return report(res, values.json, `manual demotion now ${String(res.manual)}`);
    }
    case 'boot':
      if (!paths.node || !paths.stateDir || !paths.factorySite) throw new UsageError('carpd boot runs on an appliance');
      await runBoot({ node: paths.node, factorySite: paths.factorySite, stateDir: paths.stateDir, board: APPLIANCE.board });
      return 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

function report(res: ControlResponse, json: boolean | undefined, done: string): number {
  if (json) process.stdout.write(JSON.stringify(res) + '\n');
  else if (res.ok) process.stdout.write(done + '\n');
  else process.stderr.write(`carpd: ${res.error}\n`);
  return res.ok ? 0 : 1;
}

prepareAddon();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`carpd: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`carpd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
