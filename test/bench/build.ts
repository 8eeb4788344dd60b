/**
 * Image builder benchmark: prints figures, asserts nothing.
 *
 *   node dist/test/bench/build.js [--json] [--boots N]
 *
 * cold build      every stage from scratch (packages fetched, layers compressed)
 * warm rebuild    same inputs again with the stage cache from the cold build
 * config rebuild  the site file changed (a VIP's skew): only the site layer and disk
 * agent rebuild   carpd's code changed: its layer is rebuilt, the base layer is not
 * image size      raw and qcow2 as written, and the raw image compressed (zstd -19, xz -9)
 * boot to ready   QEMU start to "carpd ... ready" on the serial console (median of N boots)
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { buildImage, DEFAULT_SITE, type BuildReport } from '../../src/builder/pipeline.js';
import { chooseAccel, kernelFromImage } from '../../src/lab/accel.js';
import { createOverlay, Machine } from '../../src/lab/machine.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, boots: { type: 'string', default: '3' } },
});

const MiB = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'carpenter-bench-'));
const cache = join(dir, 'cache');
const log = (s: string) => {
  if (!values.json) process.stdout.write(s + '\n');
};

async function timed(label: string, fn: () => Promise<BuildReport>): Promise<{ seconds: number; report: BuildReport }> {
  const t = performance.now();
  const report = await fn();
  const seconds = (performance.now() - t) / 1000;
  log(`${label.padEnd(16)} ${seconds.toFixed(1).padStart(6)} s`);
  return { seconds, report };
}

const build = (site: string, out: string) =>
  buildImage({ board: 'qemu-x86_64', site, node: 'fw1', out, cacheDir: cache, quiet: true });

try {
  log('carpenter image build benchmark (board qemu-x86_64, node fw1 of build/sites/ha-pair.ini)');
  const cold = await timed('cold build', () => build(DEFAULT_SITE, join(dir, 'a')));
  const warm = await timed('warm rebuild', () => build(DEFAULT_SITE, join(dir, 'b')));

  const changedSite = join(dir, 'site.ini');
  await writeFile(changedSite, (await readFile(DEFAULT_SITE, 'utf8')).replace(/^advskew = 0$/m, 'advskew = 3'));
  const config = await timed('config rebuild', () => build(changedSite, join(dir, 'c')));

  // A carpd code change: drop the agent stage's cache entries so only that layer rebuilds.
  await rm(join(cache, 'agent'), { recursive: true, force: true });
  const agent = await timed('agent rebuild', () => build(DEFAULT_SITE, join(dir, 'd')));

  const raw = cold.report.outputs.find((o) => o.format === 'raw')!;
  const qcow = cold.report.outputs.find((o) => o.format === 'qcow2')!;
  await execa('zstd', ['-q', '-19', '-T0', '-f', raw.path, '-o', join(dir, 'img.zst')]);
  await execa('xz', ['-9', '-T0', '-k', '-c', raw.path], { stdout: { file: join(dir, 'img.xz') } });
  const zst = (await stat(join(dir, 'img.zst'))).size;
  const xz = (await stat(join(dir, 'img.xz'))).size;
  log(`image raw        ${(raw.bytes / MiB).toFixed(1).padStart(6)} MiB`);
  log(`image qcow2      ${(qcow.bytes / MiB).toFixed(1).padStart(6)} MiB`);
  log(`image raw.zst    ${(zst / MiB).toFixed(1).padStart(6)} MiB`);
  log(`image raw.xz     ${(xz / MiB).toFixed(1).padStart(6)} MiB`);
  for (const p of cold.report.parts) log(`  part ${p.name.padEnd(16)} ${(p.bytes / MiB).toFixed(1).padStart(6)} MiB`);

  const accel = await chooseAccel(await kernelFromImage(raw.path, join(dir, 'vmlinuz')));
  const boots: Record<string, number[]> = { bios: [], uefi: [] };
  for (const firmware of ['bios', 'uefi'] as const) {
    for (let i = 0; i < Number(values.boots); i++) {
      const overlay = join(dir, `boot-${firmware}-${i}.qcow2`);
      await createOverlay(qcow.path, overlay, 'qcow2');
      const m = new Machine({
        name: `bench-${firmware}-${i}`,
        disk: overlay,
        firmware,
        accel,
        workDir: dir,
        nics: [0, 1, 2].map((n) => ({ netdev: `hubport,id=n${n},hubid=${n}` })),
      });
      await m.start();
      await m.waitForConsole(/carpd\[fw1\]: ready /, 300_000);
      boots[firmware]!.push((performance.now() - m.startedAt) / 1000);
      await m.crash();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  log(`boot to ready    ${median(boots.bios!).toFixed(1).padStart(6)} s SeaBIOS, ${median(boots.uefi!).toFixed(1)} s OVMF (${accel.toUpperCase()}, median of ${values.boots})`);

  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          coldBuildSec: cold.seconds,
          warmRebuildSec: warm.seconds,
          configRebuildSec: config.seconds,
          agentRebuildSec: agent.seconds,
          imageRawBytes: raw.bytes,
          imageQcow2Bytes: qcow.bytes,
          imageZstdBytes: zst,
          imageXzBytes: xz,
          parts: cold.report.parts,
          accel,
          bootToReadySec: { bios: boots.bios, uefi: boots.uefi, biosMedian: median(boots.bios!), uefiMedian: median(boots.uefi!) },
        },
        null,
        2,
      ) + '\n',
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
