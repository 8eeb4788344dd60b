/**
 * carpenter: build HA firewall appliance images and run QEMU labs with them.
 * One file per verb (src/cli/<verb>.ts); this file only dispatches.
 */
import { isUserError } from '../util/errors.js';
import { buildCommand } from './build.js';
import { labCommand } from './lab.js';

const VERBS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  build: { summary: 'build bootable disk images for the nodes of a site', run: buildCommand },
  lab: { summary: 'QEMU labs: boot a cluster, run failover scenarios (up, down, status, exec, run, ...)', run: labCommand },
};

const USAGE = `usage: carpenter <command> [options]

commands:
${Object.entries(VERBS)
  .map(([name, v]) => `  ${name.padEnd(10)} ${v.summary}`)
  .join('\n')}

Run "carpenter <command> --help" for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(USAGE);
    return verb ? 0 : 2;
  }
  const cmd = VERBS[verb];
  if (!cmd) {
    process.stderr.write(`carpenter: unknown command "${verb}"\n\n${USAGE}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isUserError(err)) {
      process.stderr.write(`carpenter: error: ${err.message}\n`);
      if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    } else if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`carpenter: ${err.message}\n`);
      process.exit(2);
    } else {
      process.stderr.write(`carpenter: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exit(1);
  },
);
