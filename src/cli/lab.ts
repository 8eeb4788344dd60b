import { parseArgs } from 'node:util';
import { createConnection } from 'node:net';
import { isAlive, machinePaths } from '../lab/machine.js';
import { DEFAULT_TOPOLOGY, Lab } from '../lab/lab.js';
import { labStatus, formatLabStatus } from '../lab/status.js';
import { SCENARIOS, runScenario, formatScenarioReport, type ScenarioReport } from '../lab/scenarios/index.js';
import { Progress } from '../util/progress.js';
import { UserError } from '../util/errors.js';

const HELP = `usage: carpenter lab <command> [TOPOLOGY] [options]

QEMU labs: the firewall images of a site booted as VMs, with plain hosts
(network namespaces) on their networks, all inside the lab's own network
namespace. TOPOLOGY is a qemu/*.ini file (default: qemu/ha-pair.ini).

commands:
  up [TOPOLOGY]             build images if needed, create networks, boot every VM,
                            wait until every carpd is ready (idempotent)
  down [TOPOLOGY]           stop VMs, remove namespaces, taps and files (also after a crash)
  status [TOPOLOGY]         VMs, boot times, VIP states from carpd (--json)
  console NODE              attach to a VM's serial console (leave with Ctrl-])
  exec NODE -- CMD...       run CMD on a VM (serial console) or host (namespace);
                            prints its output, exits with its exit code
  scenario NAME [TOPOLOGY]  run one scenario against a lab that is up (--json)
  run [TOPOLOGY]            up, every scenario (or --scenarios a,b), down (--json)
  list                      the scenarios

options:
  --topology FILE    the lab topology (also accepted as the first positional)
  --scenarios LIST   with run: which scenarios, comma-separated
  --keep             with run: leave the lab up afterwards
  --json             machine-readable output
`;

export async function labCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const head = dash >= 0 ? argv.slice(0, dash) : argv;
  const tail = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseArgs({
    args: head,
    allowPositionals: true,
    options: {
      topology: { type: 'string' },
      scenarios: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(HELP);
    return cmd || values.help ? 0 : 2;
  }
  const topoArg = (pos?: string) => values.topology ?? (pos && pos.endsWith('.ini') ? pos : undefined) ?? DEFAULT_TOPOLOGY;
  const out = (obj: unknown, human: string) => process.stdout.write(values.json ? JSON.stringify(obj, null, 2) + '\n' : human);

  switch (cmd) {
    case 'list':
      out(SCENARIOS.map((s) => ({ name: s.name, description: s.description })), SCENARIOS.map((s) => `${s.name.padEnd(12)} ${s.description}\n`).join(''));
      return 0;
    case 'up': {
      const lab = await Lab.open(topoArg(rest[0]));
      const state = await lab.up(new Progress(4));
      out(state, `lab ${state.name} is up (${state.accel.toUpperCase()}): ${Object.entries(state.nodes).map(([n, s]) => `${n} ready in ${((s.bootToReadyMs ?? 0) / 1000).toFixed(1)} s`).join(', ') || 'already running'}\n`);
      return 0;
    }
    case 'down': {
      const lab = await Lab.open(topoArg(rest[0]));
      const r = await lab.down();
      out(r, `lab ${lab.topo.name} is down (stopped ${r.killed.length} processes, removed ${r.namespaces.length} namespaces)\n`);
      return 0;
    }
    case 'status': {
      const lab = await Lab.open(topoArg(rest[0]));
      const s = await labStatus(lab);
      out(s, formatLabStatus(s));
      return s.up ? 0 : 1;
    }
    case 'console': {
      const node = rest[0];
      if (!node) throw new UserError('usage: carpenter lab console NODE');
      const lab = await Lab.open(topoArg(rest[1]));
      return attachConsole(lab, node);
    }
    case 'exec': {
      const target = rest[0];
      if (!target || tail.length === 0) throw new UserError('usage: carpenter lab exec NODE -- CMD...');
      const lab = await Lab.open(topoArg(rest[1]));
      const command = tail.join(' ');
      if (lab.topo.hosts.some((h) => h.name === target)) {
        const r = await lab.hostExec(target, command);
        process.stdout.write(r.all ? r.all + '\n' : '');
        return r.exitCode ?? 1;
      }
      const vm = await lab.vm(target);
      const r = await vm.exec(command, 120_000);
      process.stdout.write(r.stdout ? r.stdout + '\n' : '');
      return r.exitCode;
    }
    case 'scenario': {
      const name = rest[0];
      if (!name) throw new UserError(`usage: carpenter lab scenario NAME (one of: ${SCENARIOS.map((s) => s.name).join(', ')})`);
      const lab = await Lab.open(topoArg(rest[1]));
      if (!(await lab.isUp())) throw new UserError(`lab ${lab.topo.name} is not up`, 'run: carpenter lab up');
      const report = await runScenario(lab, name, values.json ? () => undefined : (l) => process.stderr.write(l + '\n'));
      out(report, formatScenarioReport(report));
      return report.passed ? 0 : 1;
    }
    case 'run': {
      const lab = await Lab.open(topoArg(rest[0]));
      const names = values.scenarios ? values.scenarios.split(',').map((s) => s.trim()) : SCENARIOS.map((s) => s.name);
      const started = performance.now();
      await lab.up(new Progress(4));
      const upSec = (performance.now() - started) / 1000;
      const reports: ScenarioReport[] = [];
      const bootToReadySec = Object.fromEntries(Object.entries(lab.state?.nodes ?? {}).map(([n, s]) => [n, (s.bootToReadyMs ?? 0) / 1000]));
      try {
        for (const name of names) {
          process.stderr.write(`== scenario ${name} ==\n`);
          const r = await runScenario(lab, name, values.json ? () => undefined : (l) => process.stderr.write(l + '\n'));
          reports.push(r);
          if (!values.json) process.stdout.write(formatScenarioReport(r));
        }
      } finally {
        if (!values.keep) await lab.down();
      }
      const summary = {
        lab: lab.topo.name,
        upToSettledSec: upSec,
        bootToReadySec,
        passed: reports.every((r) => r.passed),
        scenarios: reports,
      };
      if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else process.stdout.write(`\nlab run: ${reports.filter((r) => r.passed).length}/${reports.length} scenarios passed, lab up in ${upSec.toFixed(1)} s\n`);
      return summary.passed ? 0 : 1;
    }
    default:
      throw new UserError(`unknown lab command "${cmd}"`, 'see carpenter lab --help');
  }
}

/** Interactive console: raw terminal <-> the VM's serial socket. Ctrl-] leaves. */
async function attachConsole(lab: Lab, node: string): Promise<number> {
  const st = lab.state?.nodes[node];
  if (!st || !isAlive(st.pid)) throw new UserError(`VM ${node} is not running in lab ${lab.topo.name}`);
  const sock = createConnection(machinePaths(lab.dir, node).consoleSock);
  await new Promise<void>((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  process.stderr.write(`connected to ${node}'s console (Ctrl-] to leave)\n`);
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  sock.pipe(process.stdout);
  return new Promise((resolve) => {
    stdin.on('data', (d: Buffer) => {
      if (d.includes(0x1d)) {
        sock.destroy();
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
        resolve(0);
        return;
      }
      sock.write(d);
    });
    sock.on('close', () => resolve(0));
  });
}
