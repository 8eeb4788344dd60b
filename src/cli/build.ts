import { parseArgs } from 'node:util';
import { loadSite } from '../config/site.js';
import { ConfigErrors } from '../config/errors.js';
import { UserError } from '../util/errors.js';
import { buildImage, DEFAULT_CACHE, DEFAULT_PACKAGES, DEFAULT_SITE, formatReport, type BuildReport } from '../builder/pipeline.js';

const HELP = `usage: carpenter build [options]

Build a bootable disk image (raw for flashing, qcow2 for labs) for one node
of a site, or for every node when --node is not given.

options:
  --board NAME|FILE  board definition: a name from board/ or an .ini path
                     (default: qemu-x86_64; SG-4860 appliances: sg-4860)
  --site FILE        site config (default: build/sites/ha-pair.ini)
  --node NAME        node to build (default: every node of the site)
  --out DIR          where images and build reports go (default: out/)
  --packages FILE    Debian package manifest (default: build/packages.ini)
  --cache DIR        stage cache (default: .cache/ in the checkout)
  --no-cache         rebuild every stage from scratch (still deterministic)
  --no-qcow2         only write the raw image
  --json             print the build report(s) as JSON on stdout
  -h, --help         this text

Outputs, per node: <cluster>-<node>.img (raw, dd to the appliance's disk),
<cluster>-<node>.qcow2 and <cluster>-<node>.build.json (the report). Nothing
appears in --out unless the build succeeds. Progress goes to stderr.
Environment: SOURCE_DATE_EPOCH fixes timestamps (default: last commit time).
`;

export async function buildCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      board: { type: 'string', default: 'qemu-x86_64' },
      site: { type: 'string', default: DEFAULT_SITE },
      node: { type: 'string' },
      out: { type: 'string', default: 'out' },
      cache: { type: 'string', default: DEFAULT_CACHE },
      packages: { type: 'string', default: DEFAULT_PACKAGES },
      'no-cache': { type: 'boolean', default: false },
      'no-qcow2': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let nodes: string[];
  if (values.node) nodes = [values.node];
  else {
    try {
      nodes = (await loadSite(values.site)).nodes.map((n) => n.name);
    } catch (err) {
      if (err instanceof ConfigErrors) throw new UserError(`invalid config:\n${err.message}`);
      throw new UserError(`cannot read site file ${values.site}: ${(err as Error).message}`);
    }
  }
  const reports: BuildReport[] = [];
  for (const node of nodes) {
    if (nodes.length > 1) process.stderr.write(`== ${node} ==\n`);
    const report = await buildImage({
      board: values.board,
      site: values.site,
      node,
      out: values.out,
      cacheDir: values.cache,
      packages: values.packages,
      noCache: values['no-cache'],
      qcow2: !values['no-qcow2'],
    });
    reports.push(report);
    if (!values.json) process.stdout.write(formatReport(report));
  }
  if (values.json) process.stdout.write(JSON.stringify(values.node ? reports[0] : reports, null, 2) + '\n');
  return 0;
}
