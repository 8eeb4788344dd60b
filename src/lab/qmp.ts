import { createConnection, type Socket } from 'node:net';

/**
 * A minimal QMP client (QEMU Machine Protocol, JSON lines over a unix
 * socket): the lab uses it to pull virtual cables (set_link) and to stop
 * VMs (quit). One command at a time.
 */
export class Qmp {
  private buf = '';
  private waiting?: { resolve: (v: unknown) => void; reject: (e: Error) => void };

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { return?: unknown; error?: { desc: string }; event?: string; QMP?: unknown };
        if (msg.event || msg.QMP) continue; // async events and the greeting
        const w = this.waiting;
        this.waiting = undefined;
        if (msg.error) w?.reject(new Error(`QMP: ${msg.error.desc}`));
        else w?.resolve(msg.return);
      }
    });
    sock.on('close', () => this.waiting?.reject(new Error('QMP connection closed')));
    sock.on('error', () => undefined);
  }

  static async connect(path: string): Promise<Qmp> {
    const sock = await new Promise<Socket>((res, rej) => {
      const c = createConnection(path);
      c.once('connect', () => res(c));
      c.once('error', rej);
    });
    const q = new Qmp(sock);
    await q.execute('qmp_capabilities');
    return q;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.waiting) return Promise.reject(new Error('QMP: one command at a time'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One QMP command on a fresh connection (the lab CLI's processes are short-lived). */
export async function qmpOnce(path: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const q = await Qmp.connect(path);
  try {
    return await q.execute(command, args);
  } finally {
    q.close();
  }
}
