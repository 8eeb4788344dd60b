import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { loadBoard, type Board } from '../config/board.js';
import { nodeContext } from '../config/context.js';
import { ConfigErrors } from '../config/errors.js';
import { loadSite } from '../config/site.js';
import type { Site } from '../config/types.js';
import { UserError } from '../util/errors.js';
import { sha256, sha256File } from '../util/hash.js';
import { Progress } from '../util/progress.js';
import { REPO_ROOT, buildAgent } from './agent.js';
import { buildBaseLayer } from './base-layer.js';
import { StageCache } from './cache.js';
import { assembleDisk, buildConfigFs, GPTMBR, toQcow2, type DiskLayout } from './disk.js';
import { buildEsp, SYSTEMD_BOOT } from './esp.js';
import { requireHostTools } from './hosttools.js';
import { loadManifest } from './manifest.js';
import { fetchPackages } from './packages.js';
import { buildSiteLayer } from './site-layer.js';

/**
 * `carpenter build`: board + site + node in, one bootable disk image out.
 * Each stage is its own module; this file only wires them in order and
 * reports. Outputs appear in --out only when the whole build succeeded.
 */
export interface BuildOptions {
  board: string;
  site: string;
  node: string;
  out: string;
  cacheDir?: string;
  /** Rebuild every stage in a throw-away cache. */
  noCache?: boolean;
  qcow2?: boolean;
  quiet?: boolean;
  /** Debian package manifest (default build/packages.ini). */
  packages?: string;
}

export interface PartReport {
  name: string;
  bytes: number;
  cached?: boolean;
  detail?: string;
}

export interface BuildReport {
  cluster: string;
  node: string;
  role: string;
  board: string;
  carpdVersion: string;
  nodeVersion: string;
  kernelVersion: string;
  sourceDateEpoch: number;
  parts: PartReport[];
  outputs: { format: 'raw' | 'qcow2'; path: string; bytes: number; sha256: string }[];
  packages: { package: string; version: string }[];
  seconds: number;
}

/**
 * Timestamp of every file in the base and carpd layers. Their contents are
 * fully determined by their cache keys (packages, manifest, agent bundle), so
 * a fixed stamp lets them stay cached across commits; the site layer and the
 * filesystems use SOURCE_DATE_EPOCH.
 */
export const LAYER_EPOCH = 1_700_000_000;

export const DEFAULT_SITE = join(REPO_ROOT, 'build/sites/ha-pair.ini');
export const DEFAULT_CACHE = join(REPO_ROOT, '.cache');
export const DEFAULT_PACKAGES = join(REPO_ROOT, 'build/packages.ini');

export function resolveBoardPath(board: string): string {
  return board.endsWith('.ini') || board.includes('/') ? resolve(board) : join(REPO_ROOT, 'board', `${board}.ini`);
}

async function loadInputs(opts: BuildOptions): Promise<{ board: Board; site: Site; boardPath: string; siteText: string; boardText: string }> {
  const boardPath = resolveBoardPath(opts.board);
  let boardText: string;
  try {
    boardText = await readFile(boardPath, 'utf8');
  } catch {
    const known = (await readdir(join(REPO_ROOT, 'board')).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.ini'))
      .map((f) => f.replace(/\.ini$/, ''));
    throw new UserError(`unknown board "${opts.board}" (no ${boardPath})`, `known boards: ${known.join(', ')}`);
  }
  let siteText: string;
  try {
    siteText = await readFile(opts.site, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read site file ${opts.site}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let board: Board;
  let site: Site;
  try {
    board = await loadBoard(boardPath);
    site = await loadSite(opts.site);
  } catch (err) {
    if (err instanceof ConfigErrors) {
      const n = err.errors.length;
      throw new UserError(`invalid ${n === 1 ? 'config' : `config (${n} problems)`}:\n${err.message}`);
    }
    throw err;
  }
  if (!site.nodes.some((n) => n.name === opts.node)) {
    throw new UserError(
      `unknown node "${opts.node}" in ${opts.site}`,
      `nodes in this site: ${site.nodes.map((n) => n.name).join(', ')}`,
    );
  }
  return { board, site, boardPath, siteText, boardText };
}

/** SOURCE_DATE_EPOCH, else the checkout's last commit time, else a fixed date. */
export async function sourceDateEpoch(): Promise<number> {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  const r = await execa('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%ct'], { reject: false });
  if (r.exitCode === 0 && /^\d+$/.test(r.stdout.trim())) return Number(r.stdout.trim());
  return 1_700_000_000;
}

/** A GUID derived from the inputs, so the partition table is reproducible. */
function guid(...parts: string[]): string {
  const h = sha256(...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function buildImage(opts: BuildOptions): Promise<BuildReport> {
  const started = performance.now();
  const progress = new Progress(opts.qcow2 === false ? 8 : 9, process.stderr, opts.quiet);
  const outDir = resolve(opts.out);

  let step = progress.step('inputs');
  const inputs = await loadInputs(opts);
  await requireHostTools(
    ['mmdebstrap', 'xz', 'zstd', 'gzip', 'mkfs.fat', 'mmd', 'mcopy', 'syslinux', 'sfdisk', 'mkfs.ext4', 'depmod', 'strip',
      ...(opts.qcow2 === false ? [] : ['qemu-img'])],
    [GPTMBR, '/usr/lib/syslinux/modules/bios/ldlinux.c32', SYSTEMD_BOOT],
  );
  const nodeDef = inputs.site.nodes.find((n) => n.name === opts.node)!;
  const epoch = await sourceDateEpoch();
  const manifest = await loadManifest(opts.packages ?? DEFAULT_PACKAGES);
  step.done(`board ${inputs.board.name}, node ${opts.node} (${nodeDef.role}) of ${inputs.site.cluster.name}`);

  await mkdir(outDir, { recursive: true });
  const work = join(outDir, `.carpenter-tmp-${opts.node}-${process.pid}`);
  const throwAwayCache = opts.noCache ? join(work, 'cache') : undefined;
  const cache = new StageCache(throwAwayCache ?? opts.cacheDir ?? DEFAULT_CACHE);
  const cleanup = () => rm(work, { recursive: true, force: true });
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await mkdir(work, { recursive: true });

    step = progress.step('packages');
    const packages = await fetchPackages(manifest, cache);
    step.done(`${packages.packages.length} packages resolved${packages.cached ? ' (cached)' : ''}`);

    step = progress.step('base layer');
    const boardModules = [...inputs.board.modules.required, ...inputs.board.modules.optional];
    const base = await buildBaseLayer({ manifest, packages, boardModules, cache, epoch: LAYER_EPOCH });
    const baseBytes = (await stat(base.image)).size;
    step.done(`kernel ${base.meta.kernelVersion}, ${base.meta.modules} modules, ${mib(baseBytes)}${base.cached ? ' (cached)' : ''}`);

    step = progress.step('carpd');
    const agent = await buildAgent({ cache, epoch: LAYER_EPOCH });
    const agentBytes = (await stat(agent.image)).size;
    step.done(`carpd ${agent.version} on node ${agent.nodeVersion}, ${mib(agent.bytes)} -> ${mib(agentBytes)}${agent.cached ? ' (cached)' : ''}`);

    step = progress.step('site layer');
    const context = nodeContext(inputs.site, opts.node, {
      build: { version: agent.version, kernel: base.meta.kernelVersion, board: inputs.board.name },
      peerHosts: inputs.site.nodes
        .filter((n) => n.name !== opts.node)
        .flatMap((n) => (n.interfaces[inputs.site.sync.interface] ?? []).slice(0, 1).map((c) => ({ name: n.name, address: c.split('/')[0] }))),
    });
    const buildInfo = {
      carpdVersion: agent.version,
      nodeVersion: agent.nodeVersion,
      kernelVersion: base.meta.kernelVersion,
      board: inputs.board.name,
      cluster: inputs.site.cluster.name,
      node: opts.node,
      sourceDateEpoch: epoch,
    };
    const siteImage = join(work, 'site.img');
    const siteLayer = await buildSiteLayer(
      {
        overlayDir: join(REPO_ROOT, 'overlay'),
        context,
        files: {
          'etc/carpenter/site.ini': inputs.siteText,
          'etc/carpenter/board.ini': inputs.boardText,
          'etc/carpenter/node': opts.node + '\n',
          'etc/carpenter/build.json': JSON.stringify(buildInfo, null, 2) + '\n',
        },
        epoch,
      },
      siteImage,
      join(work, 'site.tar'),
    );
    const siteBytes = (await stat(siteImage)).size;
    step.done(`${siteLayer.entries.size} files, ${kib(siteBytes)}`);

    step = progress.step('boot partition');
    const id = sha256('disk', inputs.site.cluster.name, opts.node);
    const espImage = join(work, 'esp.img');
    const cmdline = [
      `console=${inputs.board.console.device},${inputs.board.console.baud}`,
      'panic=10',
      'loglevel=4',
      inputs.board.cmdline,
    ].filter(Boolean).join(' ');
    const espBytes = await buildEsp(
      {
        kernel: base.vmlinuz,
        initrds: [
          { name: 'base.img', path: base.image },
          { name: 'agent.img', path: agent.image },
          { name: 'site.img', path: siteImage },
        ],
        cmdline,
        serial: { port: Number(inputs.board.console.device.replace(/\D/g, '') || 0), baud: inputs.board.console.baud },
        extra: [{ name: 'carpenter.json', data: JSON.stringify(buildInfo, null, 2) + '\n' }],
        volumeId: id.slice(0, 8),
        epoch,
      },
      espImage,
      join(work, 'esp-files'),
    );
    step.done(`FAT ${mib(espBytes)}: syslinux (BIOS) + systemd-boot (UEFI)`);

    step = progress.step('disk image');
    const layout: DiskLayout = {
      espBytes,
      configBytes: inputs.board.disk.configBytes,
      diskGuid: guid(id, 'disk'),
      espGuid: guid(id, 'esp'),
      configGuid: guid(id, 'cfg'),
      configFsUuid: guid(id, 'cfgfs'),
    };
    const configImage = join(work, 'config.img');
    await buildConfigFs(configImage, layout, epoch);
    const stem = `${inputs.site.cluster.name}-${opts.node}`;
    const rawTmp = join(work, `${stem}.img`);
    await assembleDisk(rawTmp, layout, espImage, configImage);
    const rawBytes = (await stat(rawTmp)).size;
    if (inputs.board.disk.sizeBytes && rawBytes > inputs.board.disk.sizeBytes) {
      throw new UserError(`image is ${mib(rawBytes)}, larger than the board's disk size ${mib(inputs.board.disk.sizeBytes)}`);
    }
    step.done(`GPT, ${mib(rawBytes)} (boot ${mib(espBytes)} + config ${mib(layout.configBytes)})`);

    const outputs: BuildReport['outputs'] = [{ format: 'raw', path: join(outDir, `${stem}.img`), bytes: rawBytes, sha256: await sha256File(rawTmp) }];
    let qcowTmp: string | undefined;
    if (opts.qcow2 !== false) {
      step = progress.step('qcow2');
      qcowTmp = join(work, `${stem}.qcow2`);
      await toQcow2(rawTmp, qcowTmp);
      const bytes = (await stat(qcowTmp)).size;
      outputs.push({ format: 'qcow2', path: join(outDir, `${stem}.qcow2`), bytes, sha256: await sha256File(qcowTmp) });
      step.done(mib(bytes));
    }

    step = progress.step('outputs');
    // Only now do files appear at the output path: a failed build leaves nothing half-written there.
    await rename(rawTmp, outputs[0]!.path);
    if (qcowTmp) await rename(qcowTmp, outputs[1]!.path);
    const report: BuildReport = {
      cluster: inputs.site.cluster.name,
      node: opts.node,
      role: nodeDef.role,
      board: inputs.board.name,
      carpdVersion: agent.version,
      nodeVersion: agent.nodeVersion,
      kernelVersion: base.meta.kernelVersion,
      sourceDateEpoch: epoch,
      parts: [
        { name: 'kernel', bytes: (await stat(base.vmlinuz)).size, detail: base.meta.kernelVersion },
        { name: 'base layer', bytes: baseBytes, cached: base.cached, detail: `${base.meta.files} files, ${mib(base.meta.bytes)} unpacked` },
        { name: 'carpd layer', bytes: agentBytes, cached: agent.cached, detail: `executable ${mib(agent.bytes)}` },
        { name: 'site layer', bytes: siteBytes, detail: `${siteLayer.entries.size} files` },
        { name: 'boot partition', bytes: espBytes },
        { name: 'config partition', bytes: layout.configBytes },
      ],
      outputs,
      packages: base.meta.packages.map((p) => ({ package: p.package, version: p.version })),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    await writeFile(join(outDir, `${stem}.build.json`), JSON.stringify(report, null, 2) + '\n');
    step.done(outputs.map((o) => basename(o.path)).join(', '));
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatReport(r: BuildReport): string {
  const lines = [
    `${r.cluster}/${r.node} (${r.role}) on ${r.board}: carpd ${r.carpdVersion}, kernel ${r.kernelVersion}, built in ${r.seconds}s`,
    '',
    'part               size        ',
    ...r.parts.map((p) => `  ${p.name.padEnd(17)} ${mib(p.bytes).padStart(10)}  ${p.cached ? '(cached) ' : ''}${p.detail ?? ''}`),
    '',
    ...r.outputs.map((o) => `${o.format.padEnd(6)} ${o.path}\n       ${mib(o.bytes)}  sha256 ${o.sha256}`),
  ];
  return lines.join('\n') + '\n';
}
