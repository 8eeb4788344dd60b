import { createConnection, type Socket } from 'node:net';

/**
 * A VM's serial console, reached through QEMU's chardev unix socket: read
 * what it prints, type lines, and run shell commands with their output and
 * exit code (the way a person at the console would). QEMU accepts one client
 * at a time on the socket; the console log file has everything regardless.
 */
const ANSI = /\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-B]|\x1bc/g;

export class SerialConsole {
  private raw = '';
  private seq = 0;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
    private readonly alive: () => boolean,
  ) {
    socket.on('data', (d: Buffer) => (this.raw += d.toString('utf8')));
    socket.on('error', () => undefined);
  }

  /** Connect, retrying until the socket exists (QEMU creates it at start) or `failed()` says why not. */
  static async connect(name: string, path: string, opts: { timeoutMs?: number; failed?: () => string | undefined; alive?: () => boolean } = {}): Promise<SerialConsole> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const why = opts.failed?.();
      if (why) throw new Error(`${name}: ${why}`);
      try {
        const s = await new Promise<Socket>((res, rej) => {
          const c = createConnection(path);
          c.once('connect', () => res(c));
          c.once('error', rej);
        });
        return new SerialConsole(name, s, opts.alive ?? (() => !s.destroyed));
      } catch {
        if (Date.now() > deadline) throw new Error(`${name}: console socket ${path} did not appear`);
        await sleep(50);
      }
    }
  }

  /**
   * Everything printed since connecting, without terminal escapes and carriage
   * returns. Cleaned as a whole each time: an escape can be split across reads.
   */
  get output(): string {
    return this.raw.replace(ANSI, '').replace(/\r/g, '');
  }

  async waitFor(re: RegExp, timeoutMs: number, since = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(since));
      if (m) return m;
      if (!this.alive()) throw new Error(`${this.name}: VM stopped while waiting for ${re}\n--- console tail ---\n${this.output.slice(-1500)}`);
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${re}\n--- console tail ---\n${this.output.slice(-1500)}`);
      }
      await sleep(50);
    }
  }

  send(line: string): void {
    this.socket.write(line + '\n');
  }

  /**
   * Wait until a shell answers on this port (a getty may not have opened it
   * yet, and a tty nobody has open drops what is typed): say hello every
   * second until the answer comes back.
   */
  async waitForShell(timeoutMs = 60_000): Promise<void> {
    const id = `${process.pid}r${++this.seq}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const since = this.output.length;
      this.send(`printf '@@R%s\\n' ${id}`);
      try {
        await this.waitFor(new RegExp(`@@R${id}\\n`), 1000, Math.max(0, since - 200));
        return;
      } catch (err) {
        if (Date.now() > deadline || !this.alive()) throw err;
      }
    }
  }

  /**
   * Run a shell command; markers are printed with printf so the echoed
   * command line never contains them verbatim.
   */
  async exec(command: string, timeoutMs = 30_000): Promise<{ stdout: string; exitCode: number }> {
    const id = `${process.pid}x${++this.seq}`;
    const since = this.output.length;
    this.send(`printf '\\n@@B%s\\n' ${id}; ( ${command} ) 2>&1; printf '\\n@@E%s:%d\\n' ${id} $?`);
    const m = await this.waitFor(new RegExp(`\\n@@B${id}\\n([\\s\\S]*?)\\n?@@E${id}:(\\d+)\\n`), timeoutMs, since);
    return { stdout: m[1]!, exitCode: Number(m[2]) };
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
