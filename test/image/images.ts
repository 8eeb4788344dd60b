/**
 * Shared by the image tests: build the example pair's images once (the stage
 * cache in .cache/ makes later calls cheap) and give each test a fresh
 * copy-on-write overlay to boot, so tests never modify the built image.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, DEFAULT_SITE, type BuildReport } from '../../src/builder/pipeline.js';
import { REPO_ROOT } from '../../src/builder/agent.js';
import { chooseAccel, kernelFromImage } from '../../src/lab/accel.js';
import { createOverlay, Machine, type Firmware } from '../../src/lab/machine.js';

export const IMAGE_OUT = join(REPO_ROOT, 'out/test-images');

const built = new Map<string, Promise<BuildReport>>();

export function buildNode(node: string, site = DEFAULT_SITE): Promise<BuildReport> {
  const key = `${site}#${node}`;
  let p = built.get(key);
  if (!p) {
    p = buildImage({ board: 'qemu-x86_64', site, node, out: IMAGE_OUT, quiet: true });
    built.set(key, p);
  }
  return p;
}

export function qcow2Of(report: BuildReport): string {
  const o = report.outputs.find((x) => x.format === 'qcow2');
  if (!o) throw new Error('build produced no qcow2');
  return o.path;
}

export function rawOf(report: BuildReport): string {
  const o = report.outputs.find((x) => x.format === 'raw');
  if (!o) throw new Error('build produced no raw image');
  return o.path;
}

export async function scratchDir(prefix: string): Promise<string> {
  await mkdir(join(tmpdir(), 'carpenter-tests'), { recursive: true });
  return mkdtemp(join(tmpdir(), 'carpenter-tests', `${prefix}-`));
}

/** A VM booting an overlay of the node's image, with three isolated NICs (QEMU hubs that lead nowhere). */
export async function machineFor(report: BuildReport, firmware: Firmware, workDir: string, name = report.node, nicModel = 'e1000'): Promise<Machine> {
  const overlay = join(workDir, `${name}.qcow2`);
  await createOverlay(qcow2Of(report), overlay, 'qcow2');
  return new Machine({
    name,
    disk: overlay,
    firmware,
    workDir,
    accel: await chooseAccel(await kernelFromImage(rawOf(report), join(workDir, 'vmlinuz'))),
    memoryMiB: 768,
    nics: [0, 1, 2].map((i) => ({ netdev: `hubport,id=n${i},hubid=${i}`, model: nicModel })),
  });
}

export async function cleanup(dir: string, machines: Machine[]): Promise<void> {
  for (const m of machines) await m.crash().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
