/**
 * Child process for the rig self-test's crash paths. Builds a small rig (two
 * hosts on a bridge, a `sleep` in each), prints one JSON line describing it,
 * then: "exit" -> process.exit(1) with the rig still up; "throw" -> an
 * uncaught exception; "wait" -> idles until signalled (SIGTERM/SIGINT, or
 * SIGKILL to leave leftovers for sweepStale()).
 */
import { Rig } from '../netns.js';

const mode = process.argv[2] ?? 'wait';
const prefix = process.argv[3] ?? 'cpt-';

const rig = await Rig.create(`child-${mode}`, { prefix });
const a = await rig.host('a');
const b = await rig.host('b');
await rig.link(a, 'LAN', 'lan', { addresses: ['198.51.100.1/24'] });
await rig.link(b, 'LAN', 'lan', { addresses: ['198.51.100.2/24'] });
const pa = a.spawn('sleep', ['1000']);
const pb = b.spawn('sleep', ['1000']);
await a.succeed('ping', ['-c1', '-W2', '198.51.100.2']);
process.stdout.write(JSON.stringify({ id: rig.id, dir: rig.dir, pids: [pa.pid, pb.pid] }) + '\n');

if (mode === 'exit') process.exit(1);
if (mode === 'throw') setTimeout(() => {
  throw new Error('deliberate uncaught exception');
}, 10);
if (mode === 'wait') setInterval(() => undefined, 1000);
