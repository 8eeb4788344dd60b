import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { loadSite } from '../config/site.js';
import type { Site } from '../config/types.js';
import { REPO_ROOT } from '../builder/agent.js';
import { buildImage } from '../builder/pipeline.js';
import type { Progress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { chooseAccel, kernelFromImage, type Accel } from './accel.js';
import { sleep } from './console.js';
import { createOverlay, isAlive, Machine } from './machine.js';
import { addBridge, addNamespace, addTap, deleteNamespace, ip, namespacePids, namespaces, plugHost } from './network.js';
import { loadTopology, type LabNode, type LabTopology } from './topology.js';

/**
 * A running lab: the topology's VMs (daemonized QEMU), networks and hosts,
 * all inside network namespaces named after the lab, with a state file so
 * that later commands (status, exec, scenario, down) and a `down` after a
 * crash find everything again. Only PIDs the lab recorded, or that run
 * inside the lab's own namespaces, are ever killed.
 */
export interface LabNodeState {
  pid: number;
  overlay: string;
  image: string;
  raw: string;
  startedAt: string;
  bootToReadyMs?: number;
}

export interface LabState {
  name: string;
  topology: string;
  ns: string;
  accel: Accel;
  createdAt: string;
  nodes: Record<string, LabNodeState>;
  hosts: Record<string, { ns: string }>;
}

export const LAB_ROOT = join(REPO_ROOT, 'out/lab');
export const DEFAULT_TOPOLOGY = join(REPO_ROOT, 'qemu/ha-pair.ini');
const READY = (node: string) => new RegExp(`carpd\\[${node}\\]: ready `);

export class Lab {
  state?: LabState;

  private constructor(
    readonly topo: LabTopology,
    readonly site: Site,
    readonly dir: string,
  ) {}

  static async open(topologyPath = DEFAULT_TOPOLOGY): Promise<Lab> {
    const topo = await loadTopology(topologyPath);
    const site = await loadSite(topo.site);
    for (const n of topo.nodes) {
      if (!site.nodes.some((s) => s.name === n.siteNode)) {
        throw new UserError(`${topo.file}: [node "${n.name}"] boots site node "${n.siteNode}", which ${topo.site} does not have`);
      }
    }
    const lab = new Lab(topo, site, join(LAB_ROOT, topo.name));
    lab.state = await readFile(join(lab.dir, 'state.json'), 'utf8').then((t) => JSON.parse(t) as LabState, () => undefined);
    return lab;
  }

  /**
   * The lab's namespace. Named after the lab and its state directory, so two
   * checkouts running the same topology never touch each other's lab.
   */
  get ns(): string {
    return `cpl-${sha256(this.dir).slice(0, 6)}-${this.topo.name}`;
  }

  hostNs(host: string): string {
    return `${this.ns}-${host}`;
  }

  private async save(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'state.json'), JSON.stringify(this.state, null, 2) + '\n');
  }

  /** True when the state file's VMs are all alive and the namespace exists. */
  async isUp(): Promise<boolean> {
    if (!this.state) return false;
    const nss = await namespaces();
    return nss.includes(this.ns) && this.topo.nodes.every((n) => isAlive(this.state!.nodes[n.name]?.pid));
  }

  vipAddress(name: string): string {
    const vip = this.site.vips.find((v) => v.name === name);
    if (!vip) throw new UserError(`${this.topo.file}: no VIP "${name}" in ${this.topo.site}`);
    return vip.address.split('/')[0]!;
  }

  /** Bring the lab up: build images, make networks and hosts, boot VMs, wait until every carpd is ready. Idempotent. */
  async up(progress: Progress): Promise<LabState> {
    if (await this.isUp()) {
      progress.info(`lab ${this.topo.name} is already up`);
      return this.state!;
    }
    if (this.state || (await namespaces()).some((n) => n === this.ns || n.startsWith(`${this.ns}-`))) {
      progress.info(`lab ${this.topo.name}: cleaning up what an earlier run left`);
      await this.down();
    }

    let step = progress.step('images');
    const images: Record<string, { qcow2: string; raw: string }> = {};
    for (const node of this.topo.nodes) images[node.name] = await this.imageFor(node);
    step.done(this.topo.nodes.map((n) => n.name).join(', '));

    step = progress.step('accelerator');
    const first = images[this.topo.nodes[0]!.name]!;
    await mkdir(this.dir, { recursive: true });
    const accel: Accel =
      this.topo.accel === 'auto' ? await chooseAccel(await kernelFromImage(first.raw, join(this.dir, 'vmlinuz'))) : this.topo.accel;
    step.done(accel === 'kvm' ? 'KVM (probe booted)' : 'TCG (KVM unavailable or its probe hung)');

    this.state = { name: this.topo.name, topology: this.topo.file, ns: this.ns, accel, createdAt: new Date().toISOString(), nodes: {}, hosts: {} };
    await this.save();

    step = progress.step('networks');
    await addNamespace(this.ns);
    for (const net of this.topo.networks) await addBridge(this.ns, `br-${net.name}`);
    for (const host of this.topo.hosts) {
      const ns = this.hostNs(host.name);
      await addNamespace(ns);
      this.state.hosts[host.name] = { ns };
      await this.save();
      await plugHost(this.ns, `br-${host.network}`, ns, `h-${host.name}`);
      for (const cidr of host.addresses) {
        await ip(['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0', ...(cidr.includes(':') ? ['nodad'] : [])]);
      }
      for (const gw of host.gateways) {
        const via = gw.startsWith('vip:') ? this.vipAddress(gw.slice(4)) : gw;
        await ip(['-n', ns, via.includes(':') ? '-6' : '-4', 'route', 'replace', 'default', 'via', via, 'dev', 'eth0']);
      }
    }
    step.done(`${this.topo.networks.map((n) => `${n.name} (${n.kind})`).join(', ')}; hosts ${this.topo.hosts.map((h) => h.name).join(', ') || 'none'}`);

    step = progress.step('boot');
    const started = performance.now();
    for (const node of this.topo.nodes) {
      const overlay = join(this.dir, `${node.name}.qcow2`);
      await createOverlay(images[node.name]!.qcow2, overlay, 'qcow2');
      for (const [i, nic] of node.nics.entries()) await addTap(this.ns, `t-${node.name}-${i}`, `br-${nic.network}`);
      const m = this.machine(node, overlay);
      await m.start();
      this.state.nodes[node.name] = { pid: m.pid!, overlay, image: images[node.name]!.qcow2, raw: images[node.name]!.raw, startedAt: new Date().toISOString() };
      await this.save();
      m.detach();
    }
    for (const node of this.topo.nodes) {
      const ms = await this.waitReady(node.name, started);
      this.state.nodes[node.name]!.bootToReadyMs = ms;
      step.note(`${node.name} carpd ready after ${(ms / 1000).toFixed(1)} s`);
    }
    await this.save();
    step.done(`${this.topo.nodes.length} VMs under ${accel.toUpperCase()}`);
    return this.state;
  }

  private async imageFor(node: LabNode): Promise<{ qcow2: string; raw: string }> {
    if (node.image) return { qcow2: node.image, raw: node.image.replace(/\.qcow2$/, '.img') };
    const report = await buildImage({ board: this.topo.board, site: this.topo.site, node: node.siteNode, out: join(REPO_ROOT, 'out/lab-images'), quiet: true });
    const out = (f: string) => report.outputs.find((o) => o.format === f)!.path;
    return { qcow2: out('qcow2'), raw: out('raw') };
  }

  /** QEMU gives every VM the same default MACs; on shared bridges each NIC needs its own. */
  macFor(node: LabNode, nic: number): string {
    const lab = sha256(this.topo.name).slice(0, 2);
    const index = this.topo.nodes.indexOf(node);
    return `52:54:00:${lab}:${index.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
  }

  machine(
    node: LabNode,
    overlay: string,
    nics = node.nics.map((_, i) => ({
      netdev: `tap,id=n${i},ifname=t-${node.name}-${i},script=no,downscript=no`,
      model: node.model,
      mac: this.macFor(node, i),
    })),
  ): Machine {
    return new Machine({
      name: node.name,
      disk: overlay,
      firmware: node.firmware,
      memoryMiB: node.memoryMiB,
      cpus: node.cpus,
      nics,
      workDir: this.dir,
      accel: this.state!.accel,
      netns: this.ns,
      daemonize: true,
    });
  }

  /** Wait for "carpd[node]: ready" in the node's console log (written by QEMU, so no socket needed). */
  async waitReady(node: string, since: number, fromOffset = 0, timeoutMs = 300_000): Promise<number> {
    const log = join(this.dir, `${node}.console.log`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(log, 'utf8').catch(() => '');
      if (READY(node).test(text.slice(fromOffset))) return performance.now() - since;
      if (!isAlive(this.state?.nodes[node]?.pid)) throw new Error(`${node}: VM is not running (see ${log})`);
      if (Date.now() > deadline) throw new Error(`${node}: carpd not ready after ${timeoutMs / 1000} s (see ${log})`);
      await sleep(200);
    }
  }

  private readonly vms = new Map<string, Machine>();

  /** A handle on a running VM, kept while that VM (that PID) runs, so its exec channel is reused. */
  async vm(name: string): Promise<Machine> {
    const node = this.topo.nodes.find((n) => n.name === name);
    const st = this.state?.nodes[name];
    if (!node || !st) throw new UserError(`no VM "${name}" in lab ${this.topo.name} (VMs: ${this.topo.nodes.map((n) => n.name).join(', ')})`);
    const cached = this.vms.get(name);
    if (cached?.pid === st.pid && cached.running) return cached;
    cached?.detach();
    const m = this.machine(node, st.overlay);
    m.attach(st.pid);
    this.vms.set(name, m);
    return m;
  }

  /** Let go of every VM handle (sockets), e.g. before the process exits. */
  detachAll(): void {
    for (const m of this.vms.values()) m.detach();
    this.vms.clear();
  }

  /** Power a VM off hard (QEMU killed, like pulling the power cord). */
  async powerOff(name: string): Promise<void> {
    const st = this.state?.nodes[name];
    if (!st || !isAlive(st.pid)) return;
    process.kill(st.pid, 'SIGKILL');
    while (isAlive(st.pid)) await sleep(20);
  }

  /** Power a VM on again (same disk: it boots with what it had persisted). Returns the console log offset it starts at. */
  async powerOn(name: string): Promise<number> {
    const node = this.topo.nodes.find((n) => n.name === name)!;
    const st = this.state!.nodes[name]!;
    if (isAlive(st.pid)) return 0;
    const offset = (await readFile(join(this.dir, `${name}.console.log`), 'utf8').catch(() => '')).length;
    const m = this.machine(node, st.overlay);
    await m.start();
    st.pid = m.pid!;
    st.startedAt = new Date().toISOString();
    m.detach();
    await this.save();
    return offset;
  }

  /** Pull or plug back a VM's cable for one role (QMP set_link). */
  async setLink(name: string, role: string, up: boolean): Promise<void> {
    const node = this.topo.nodes.find((n) => n.name === name);
    const index = node?.nics.findIndex((n) => n.role === role) ?? -1;
    if (!node || index < 0) throw new UserError(`${name} has no ${role} NIC`);
    const m = this.machine(node, this.state!.nodes[name]!.overlay);
    await m.setLink(index, up);
  }

  /** Run a command in a plain host's namespace. */
  hostExec(host: string, command: string, opts: { timeoutMs?: number } = {}) {
    const ns = this.state?.hosts[host]?.ns;
    if (!ns) throw new UserError(`no host "${host}" in lab ${this.topo.name} (hosts: ${this.topo.hosts.map((h) => h.name).join(', ')})`);
    return execa('ip', ['netns', 'exec', ns, 'sh', '-c', command], { reject: false, all: true, timeout: opts.timeoutMs });
  }

  /** Start a long-running command in a host's namespace; the caller stops it (it also dies with the namespace at `down`). */
  hostSpawn(host: string, argv: string[]): ResultPromise {
    const ns = this.state?.hosts[host]?.ns;
    if (!ns) throw new UserError(`no host "${host}" in lab ${this.topo.name}`);
    return execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, all: true, buffer: true });
  }

  /** Stop everything the lab made: VMs and processes in its namespaces, the namespaces (bridges, taps, veths go with them), its files. */
  async down(): Promise<{ killed: number[]; namespaces: string[] }> {
    const killed: number[] = [];
    const ours = (await namespaces()).filter((n) => n === this.ns || n.startsWith(`${this.ns}-`));
    const pids = new Set<number>();
    for (const st of Object.values(this.state?.nodes ?? {})) if (isAlive(st.pid) && (await isOurQemu(st.pid, this.dir))) pids.add(st.pid);
    for (const ns of ours) for (const pid of await namespacePids(ns)) pids.add(pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // already gone
      }
    }
    for (const pid of pids) for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
    for (const ns of ours) await deleteNamespace(ns);
    await rm(this.dir, { recursive: true, force: true });
    this.state = undefined;
    return { killed, namespaces: ours };
  }
}

/** A recorded PID is only killed if it still is a QEMU of this lab (PIDs get reused). */
async function isOurQemu(pid: number, labDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('qemu-system') && cmdline.includes(labDir);
}
