import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Accel } from './accel.js';
import { SerialConsole, sleep } from './console.js';
import { qmpOnce } from './qmp.js';

/**
 * One QEMU virtual machine, driven the way a person at its serial console
 * would (after the NixOS test driver's Machine): start it, wait for text on
 * the console, run a command and read its output and exit code, pull a
 * virtual cable, power it off hard or cleanly.
 *
 * Two ways to run QEMU: as a child of this process (tests, benchmarks), or
 * daemonized (the lab: VMs outlive the `carpenter lab up` command, and later
 * commands attach to them by PID and socket paths).
 */
export type Firmware = 'bios' | 'uefi';

export interface NicSpec {
  /** QEMU NIC model: e1000 (default, as the seeds advise for CARP labs), virtio-net-pci, ... */
  model?: string;
  /** The -netdev argument, e.g. "hubport,id=n0,hubid=0" or "tap,id=n0,ifname=t0,script=no,downscript=no". */
  netdev: string;
  mac?: string;
  /** PCI slot; by default NIC i sits in slot 3+i, where board/qemu-x86_64.ini expects it. */
  slot?: number;
}

export interface MachineOptions {
  name: string;
  /** Disk image the VM boots from (written to: give it an overlay or a copy). */
  disk: string;
  diskFormat?: 'raw' | 'qcow2';
  /** How the disk is attached: virtio (default: fastest to boot under TCG) or ide. */
  diskInterface?: 'virtio' | 'ide';
  firmware?: Firmware;
  memoryMiB?: number;
  cpus?: number;
  nics?: NicSpec[];
  /** Where the console socket and log, QMP socket, pid file and UEFI variables live. */
  workDir: string;
  accel: Accel;
  /** Run QEMU inside this network namespace (ip netns exec). */
  netns?: string;
  /** Detach QEMU from this process (-daemonize). */
  daemonize?: boolean;
}

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export function machinePaths(workDir: string, name: string) {
  return {
    consoleSock: join(workDir, `${name}.console.sock`),
    consoleLog: join(workDir, `${name}.console.log`),
    /** ttyS1: a shell nobody else writes to (the board passes carpenter.mgmt=ttyS1). */
    mgmtSock: join(workDir, `${name}.mgmt.sock`),
    qmpSock: join(workDir, `${name}.qmp.sock`),
    pidFile: join(workDir, `${name}.pid`),
    uefiVars: join(workDir, `${name}.OVMF_VARS.fd`),
  };
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Machine {
  private child?: ChildProcess;
  private pidValue?: number;
  /** ttyS0: what the kernel, init and carpd print. */
  console?: SerialConsole;
  /** ttyS1: where exec() runs commands, free of log lines. */
  private mgmt?: SerialConsole;
  startedAt = 0;

  constructor(readonly opts: MachineOptions) {}

  get paths() {
    return machinePaths(this.opts.workDir, this.opts.name);
  }

  get consoleLog(): string {
    return this.paths.consoleLog;
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  get running(): boolean {
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null;
    return isAlive(this.pidValue);
  }

  /** Everything the console printed since this process connected to it. */
  get output(): string {
    return this.console?.output ?? '';
  }

  qemuArgs(): string[] {
    const o = this.opts;
    const p = this.paths;
    const args = [
      '-name', o.name,
      '-accel', o.accel,
      '-m', String(o.memoryMiB ?? 768),
      '-smp', String(o.cpus ?? 1),
      '-nodefaults', '-nographic', '-no-user-config',
      '-chardev', `socket,id=con0,path=${p.consoleSock},server=on,wait=off,logfile=${p.consoleLog},logappend=on`,
      '-serial', 'chardev:con0',
      '-chardev', `socket,id=mgmt0,path=${p.mgmtSock},server=on,wait=off`,
      '-serial', 'chardev:mgmt0',
      '-qmp', `unix:${p.qmpSock},server=on,wait=off`,
      '-drive', `file=${o.disk},format=${o.diskFormat ?? 'qcow2'},if=${o.diskInterface ?? 'virtio'}`,
    ];
    if ((o.firmware ?? 'bios') === 'uefi') {
      args.push(
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${p.uefiVars}`,
      );
    }
    (o.nics ?? []).forEach((nic, i) => {
      const id = /id=([^,]+)/.exec(nic.netdev)?.[1] ?? `n${i}`;
      const slot = nic.slot ?? 3 + i;
      const mac = nic.mac ? `,mac=${nic.mac}` : '';
      args.push('-netdev', nic.netdev, '-device', `${nic.model ?? 'e1000'},netdev=${id},addr=0x${slot.toString(16)}${mac}`);
    });
    if (o.daemonize) args.push('-daemonize', '-pidfile', p.pidFile);
    return args;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const o = this.opts;
    await mkdir(o.workDir, { recursive: true });
    for (const f of [this.paths.consoleSock, this.paths.mgmtSock, this.paths.qmpSock, this.paths.pidFile]) await rm(f, { force: true });
    if ((o.firmware ?? 'bios') === 'uefi') await copyFile(OVMF_VARS, this.paths.uefiVars).catch(() => undefined);
    const argv = o.netns ? ['ip', 'netns', 'exec', o.netns, 'qemu-system-x86_64', ...this.qemuArgs()] : ['qemu-system-x86_64', ...this.qemuArgs()];
    this.startedAt = performance.now();
    if (o.daemonize) {
      // QEMU forks, the parent exits once the VM is set up, the pid file names the VM.
      const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true });
      if (r.exitCode !== 0) throw new Error(`${o.name}: qemu failed to start: ${(r.all ?? '').trim()}`);
      this.pidValue = Number((await readFile(this.paths.pidFile, 'utf8')).trim());
      this.console = await SerialConsole.connect(o.name, this.paths.consoleSock, { alive: () => this.running });
      return;
    }
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.pidValue = child.pid;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.console = await SerialConsole.connect(o.name, this.paths.consoleSock, {
      failed: () => (child.exitCode !== null ? `qemu exited: ${stderr.trim()}` : undefined),
      alive: () => this.running,
    });
  }

  /** Take over a daemonized VM another process started. */
  /** Take over a daemonized VM another process started (exec connects to ttyS1 when first used). */
  attach(pid: number): void {
    this.pidValue = pid;
    if (!this.running) throw new Error(`${this.opts.name}: not running (pid ${pid})`);
  }

  async waitForConsole(re: RegExp, timeoutMs: number, since = 0): Promise<RegExpExecArray> {
    if (!this.console) throw new Error(`${this.opts.name}: not started`);
    return this.console.waitFor(re, timeoutMs, since);
  }

  send(line: string): void {
    if (!this.console) throw new Error(`${this.opts.name}: not started`);
    this.console.send(line);
  }

  /** Run a shell command on the management serial port (ttyS1); output and exit code. */
  async exec(command: string, timeoutMs = 30_000): Promise<{ stdout: string; exitCode: number }> {
    if (!this.running) throw new Error(`${this.opts.name}: not running`);
    if (!this.mgmt) {
      const mgmt = await SerialConsole.connect(`${this.opts.name}/mgmt`, this.paths.mgmtSock, { alive: () => this.running });
      await mgmt.waitForShell();
      this.mgmt = mgmt;
    }
    return this.mgmt.exec(command, timeoutMs);
  }

  /** Let go of the sockets (the VM keeps running). */
  detach(): void {
    this.console?.close();
    this.mgmt?.close();
    this.mgmt = undefined;
  }

  async succeed(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(command, timeoutMs);
    if (r.exitCode !== 0) throw new Error(`${this.opts.name}: "${command}" exited ${r.exitCode}:\n${r.stdout}`);
    return r.stdout;
  }

  /** Pull (or plug back) the cable of NIC `index` (its netdev id is n<index>). */
  async setLink(index: number, up: boolean): Promise<void> {
    await qmpOnce(this.paths.qmpSock, 'set_link', { name: `n${index}`, up });
  }

  /** Hard power-off: kill the QEMU process (by the PID we started or recorded). */
  async crash(): Promise<void> {
    const pid = this.pidValue;
    this.detach();
    if (!pid || !this.running) return;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && this.running; i++) await sleep(20);
  }

  async waitForExit(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      if (Date.now() > deadline) throw new Error(`${this.opts.name}: did not power off within ${timeoutMs} ms`);
      await sleep(50);
    }
    this.detach();
  }

  /** Clean shutdown via the console, then a hard stop if it takes too long. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.send('poweroff');
    try {
      await this.waitForExit(timeoutMs);
    } catch {
      await this.crash();
    }
  }
}

export async function createOverlay(backing: string, overlay: string, backingFormat: 'raw' | 'qcow2'): Promise<void> {
  await rm(overlay, { force: true });
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', backingFormat, overlay]);
}
