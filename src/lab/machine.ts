import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Accel } from './accel.js';

/**
 * One QEMU virtual machine, driven the way a person at its serial console
 * would (after the NixOS test driver's Machine): start it, wait for text on
 * the console, run a command and read its output and exit code, power it off
 * hard or cleanly. The console is a unix socket; QEMU also logs it to a file.
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
  /** Where the console socket, console log and UEFI variables live. */
  workDir: string;
  accel: Accel;
  /** Run QEMU inside this network namespace (ip netns exec). */
  netns?: string;
}

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

const ANSI = /\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-B]|\x1bc/g;

export class Machine {
  private proc?: ChildProcess;
  private console?: Socket;
  /** Everything the console printed since start(), raw. */
  private raw = '';
  private seq = 0;
  private exitPromise?: Promise<number | null>;
  startedAt = 0;

  constructor(readonly opts: MachineOptions) {}

  get consoleLog(): string {
    return join(this.opts.workDir, `${this.opts.name}.console.log`);
  }

  /**
   * Everything the console printed since start(), with terminal escapes and
   * carriage returns removed. Cleaned as a whole each time because an escape
   * sequence can be split across two reads.
   */
  get output(): string {
    return this.raw.replace(ANSI, '').replace(/\r/g, '');
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async qemuArgs(): Promise<string[]> {
    const o = this.opts;
    const sock = join(o.workDir, `${o.name}.console.sock`);
    const args = [
      '-name', o.name,
      '-accel', o.accel,
      '-m', String(o.memoryMiB ?? 768),
      '-smp', String(o.cpus ?? 1),
      '-nodefaults', '-nographic', '-no-user-config',
      '-chardev', `socket,id=con0,path=${sock},server=on,wait=off,logfile=${this.consoleLog}`,
      '-serial', 'chardev:con0',
      '-drive', `file=${o.disk},format=${o.diskFormat ?? 'qcow2'},if=${o.diskInterface ?? 'virtio'}`,
    ];
    if ((o.firmware ?? 'bios') === 'uefi') {
      const vars = join(o.workDir, `${o.name}.OVMF_VARS.fd`);
      await copyFile(OVMF_VARS, vars);
      args.push(
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
      );
    }
    (o.nics ?? []).forEach((nic, i) => {
      const id = /id=([^,]+)/.exec(nic.netdev)?.[1] ?? `n${i}`;
      const slot = nic.slot ?? 3 + i;
      const mac = nic.mac ? `,mac=${nic.mac}` : '';
      args.push('-netdev', nic.netdev, '-device', `${nic.model ?? 'e1000'},netdev=${id},addr=0x${slot.toString(16)}${mac}`);
    });
    return args;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await mkdir(this.opts.workDir, { recursive: true });
    await rm(this.consoleLog, { force: true });
    this.raw = '';
    const args = await this.qemuArgs();
    const [cmd, ...rest] = this.opts.netns
      ? ['ip', 'netns', 'exec', this.opts.netns, 'qemu-system-x86_64', ...args]
      : ['qemu-system-x86_64', ...args];
    this.startedAt = performance.now();
    const proc = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exitPromise = new Promise((res) => proc.on('exit', (code) => res(code)));
    await this.connectConsole(() => (proc.exitCode !== null ? `qemu exited: ${stderr.trim()}` : undefined));
  }

  private async connectConsole(failed: () => string | undefined): Promise<void> {
    const path = join(this.opts.workDir, `${this.opts.name}.console.sock`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const why = failed();
      if (why) throw new Error(`${this.opts.name}: ${why}`);
      try {
        this.console = await new Promise<Socket>((res, rej) => {
          const s = createConnection(path);
          s.once('connect', () => res(s));
          s.once('error', rej);
        });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.opts.name}: console socket ${path} did not appear`);
        await sleep(50);
      }
    }
    this.console.on('data', (d: Buffer) => {
      this.raw += d.toString('utf8');
    });
    this.console.on('error', () => undefined);
  }

  /** Wait until the console (from offset `since`) matches `re`; returns the match. */
  async waitForConsole(re: RegExp, timeoutMs: number, since = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(since));
      if (m) return m;
      if (!this.running) throw new Error(`${this.opts.name}: VM stopped while waiting for ${re}\n--- console tail ---\n${this.output.slice(-1500)}`);
      if (Date.now() > deadline) {
        throw new Error(`${this.opts.name}: timed out after ${timeoutMs} ms waiting for ${re}\n--- console tail ---\n${this.output.slice(-1500)}`);
      }
      await sleep(50);
    }
  }

  /** Type a line on the serial console. */
  send(line: string): void {
    if (!this.console) throw new Error(`${this.opts.name}: not started`);
    this.console.write(line + '\n');
  }

  /**
   * Run a shell command on the console and return its output and exit code.
   * Markers are printed with printf so that the echoed command line never
   * contains them verbatim.
   */
  async exec(command: string, timeoutMs = 30_000): Promise<{ stdout: string; exitCode: number }> {
    const id = `${process.pid}x${++this.seq}`;
    const since = this.output.length;
    this.send(`printf '\\n@@B%s\\n' ${id}; ( ${command} ) 2>&1; printf '\\n@@E%s:%d\\n' ${id} $?`);
    const m = await this.waitForConsole(new RegExp(`\\n@@B${id}\\n([\\s\\S]*?)\\n@@E${id}:(\\d+)\\n`), timeoutMs, since);
    return { stdout: m[1]!, exitCode: Number(m[2]) };
  }

  async succeed(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(command, timeoutMs);
    if (r.exitCode !== 0) throw new Error(`${this.opts.name}: "${command}" exited ${r.exitCode}:\n${r.stdout}`);
    return r.stdout;
  }

  /** Hard power-off: kill the QEMU process we started. */
  async crash(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGKILL');
    await this.exitPromise;
    this.console?.destroy();
  }

  /** Wait for the VM to power itself off (after `poweroff` or a reboot with -no-reboot). */
  async waitForExit(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    const r = await Promise.race([this.exitPromise!, timer]);
    if (r === 'timeout') throw new Error(`${this.opts.name}: did not power off within ${timeoutMs} ms`);
    this.console?.destroy();
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
