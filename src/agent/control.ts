import { createConnection, createServer, type Server } from 'node:net';
import { rm } from 'node:fs/promises';

/**
 * The local control channel between `carpd run` and the `carpd status` /
 * `carpd config ...` commands: a Unix socket carrying one JSON request and
 * one JSON response per connection. Only root can reach it (mode 0600 dir).
 */
export interface ControlRequest {
  cmd: string;
  [key: string]: unknown;
}

export type ControlResponse = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

const MAX_REQUEST = 4 * 1024 * 1024;

export async function serveControl(path: string, handler: ControlHandler): Promise<Server> {
  await rm(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) {
        sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        sock.end(JSON.stringify({ ok: false, error: 'malformed request' }) + '\n');
        return;
      }
      handler(req)
        .catch((err: unknown): ControlResponse => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))
        .then((res) => sock.end(toJson(res) + '\n'));
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res());
  });
  return server;
}

/** JSON that also carries bigint (64-bit protocol counters) as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function callControl(path: string, req: ControlRequest, timeoutMs = 10_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`carpd did not answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        reject(new Error('carpd sent a malformed answer'));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new Error(`carpd is not running (no control socket at ${path})`)
          : err,
      );
    });
  });
}
