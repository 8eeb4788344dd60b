/**
 * The HTTPS shell of the XML-RPC endpoint: TLS, basic auth, the brake on
 * password guessing, body limits; the Dispatcher does the rest.
 *
 * Order of checks for each request, cheapest and least revealing first:
 *   1. 429 when the source has used up its failed-login budget (the
 *      password is not even looked at);
 *   2. 401 without, or with wrong, credentials (a wrong one drains the budget);
 *   3. 405 / 404 / 415 / 413 for the wrong method, path, type or size;
 *   4. the body, read up to the cap, must be UTF-8, then goes to the Dispatcher;
 *      a larger one is read and dropped up to 4x the cap so the sender can
 *      read the 413 (beyond that, or declared beyond it, the connection is cut).
 * Responses to refused requests close the connection, so an unauthenticated
 * body is never read. There is no plain-HTTP listener at all: a plain request
 * to the port fails the TLS handshake and gets no answer.
 *
 * It listens on the addresses it is given and refuses wildcards: carpd binds
 * it to its own SYNC address only, never a VIP (which moves) or 0.0.0.0.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { credentialsMatch, FailureLimiter, parseBasicAuth, type Credentials, type LimiterOptions } from './auth.js';
import type { Dispatcher } from './dispatch.js';

export interface ServerLog {
  info(msg: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(msg: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

export interface XmlRpcServerOptions {
  /** Literal addresses to listen on (this node's SYNC addresses). */
  addresses: readonly string[];
  port: number;
  key: string;
  cert: string;
  credentials: Credentials;
  dispatcher: Dispatcher;
  log: ServerLog;
  limiter?: LimiterOptions;
  /** Default 2 MiB: a site file's areas are a few hundred kilobytes at most. */
  maxBodyBytes?: number;
  /** URL paths served: Python's default /RPC2, /, and pfSense's /xmlrpc.php. */
  paths?: readonly string[];
  now?: () => number;
}

export interface ServerStats {
  requests: number;
  calls: number;
  faults: number;
  authFailures: number;
  rateLimited: number;
  refused: number;
  tlsErrors: number;
}

const DEFAULT_PATHS = ['/RPC2', '/', '/xmlrpc.php'];
const XML_TYPES = ['text/xml', 'application/xml'];

export class XmlRpcServer {
  readonly stats: ServerStats = { requests: 0, calls: 0, faults: 0, authFailures: 0, rateLimited: 0, refused: 0, tlsErrors: 0 };
  private readonly servers: Server[] = [];
  private readonly limiter: FailureLimiter;
  private readonly maxBody: number;
  private readonly paths: readonly string[];
  private readonly now: () => number;

  constructor(private readonly opts: XmlRpcServerOptions) {
    for (const a of opts.addresses) {
      if (isIP(a) === 0) throw new Error(`XML-RPC: "${a}" is not an address`);
      if (a === '0.0.0.0' || a === '::') throw new Error('XML-RPC: refusing to listen on a wildcard address (the SYNC address only)');
    }
    if (opts.addresses.length === 0) throw new Error('XML-RPC: no address to listen on (the node has no SYNC address)');
    this.limiter = new FailureLimiter(opts.limiter);
    this.maxBody = opts.maxBodyBytes ?? 2 * 1024 * 1024;
    this.paths = opts.paths ?? DEFAULT_PATHS;
    this.now = opts.now ?? Date.now;
  }

  /** Listens on every address; on any failure closes what was opened and throws. */
  async start(): Promise<void> {
    try {
      for (const address of this.opts.addresses) this.servers.push(await this.listen(address));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  get listening(): string[] {
    return this.servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a !== null ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
    });
  }

  private listen(address: string): Promise<Server> {
    const server = createServer(
      {
        key: this.opts.key,
        cert: this.opts.cert,
        minVersion: 'TLSv1.2',
        maxHeaderSize: 16 * 1024,
        requestTimeout: 30_000,
        headersTimeout: 10_000,
        keepAliveTimeout: 5_000,
      },
      (req, res) => {
        this.onRequest(req, res).catch((err: unknown) => {
          this.opts.log.warn('xml-rpc: request failed', { reason: err instanceof Error ? err.message : String(err) });
          if (!res.headersSent) this.refuse(res, 500, 'internal error');
          else res.destroy();
        });
      },
    );
    server.maxHeadersCount = 64;
    server.maxConnections = 64;
    // Plain HTTP, port scans, wrong TLS versions: counted, not logged one by one.
    server.on('tlsClientError', (_err, socket) => {
      this.stats.tlsErrors++;
      socket.destroy();
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port: this.opts.port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.opts.log.warn('xml-rpc: server error', { address, reason: err.message }));
        resolve(server);
      });
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const source = req.socket.remoteAddress ?? 'unknown';
    const verdict = this.limiter.check(source, this.now());
    if (!verdict.ok) {
      this.stats.rateLimited++;
      return this.refuse(res, 429, 'too many failed logins; try again later', { 'Retry-After': String(verdict.retryAfterSec) });
    }
    const given = parseBasicAuth(req.headers.authorization);
    if (given === undefined) return this.refuse(res, 401, 'authentication required', { 'WWW-Authenticate': 'Basic realm="carpd", charset="UTF-8"' });
    if (!credentialsMatch(given, this.opts.credentials)) {
      this.stats.authFailures++;
      this.limiter.failed(source, this.now());
      this.opts.log.warn('xml-rpc: wrong user or password', { source, user: given.user.slice(0, 64) });
      return this.refuse(res, 401, 'wrong user or password', { 'WWW-Authenticate': 'Basic realm="carpd", charset="UTF-8"' });
    }
    this.limiter.succeeded(source);
    if (req.method !== 'POST') return this.refuse(res, 405, 'XML-RPC takes POST', { Allow: 'POST' });
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!this.paths.includes(path)) return this.refuse(res, 404, `no endpoint at ${path.slice(0, 100)} (try ${this.paths[0]})`);
    const type = (req.headers['content-type'] ?? 'text/xml').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!XML_TYPES.includes(type)) return this.refuse(res, 415, 'XML-RPC bodies are text/xml');
    // Too large: read and drop up to drainBytes first, so the client, still sending, gets to read the 413.
    const body = await readBody(req, this.maxBody, this.maxBody * 4);
    if (body === 'dropped') {
      this.stats.refused++;
      req.socket.destroy();
      return;
    }
    if (body === 'too large') return this.refuse(res, 413, `body larger than ${this.maxBody} bytes`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      text = '\u0000'; // not UTF-8: let the parser answer with its fault
    }
    this.stats.calls++;
    const result = await this.opts.dispatcher.handle(text, { remoteAddress: source, user: given.user });
    if (result.fault !== undefined) this.stats.faults++;
    if (result.internalError !== undefined) {
      const e = result.internalError;
      this.opts.log.warn('xml-rpc: method failed unexpectedly', { method: result.method, reason: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
    const out = Buffer.from(result.xml, 'utf8');
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': out.length });
    res.end(out);
  }

  private refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    this.stats.refused++;
    const body = `${message}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close', ...headers });
    res.end(body);
  }
}

/**
 * The whole body; 'too large' past `max` (the rest read and dropped, up to
 * `drain` in all, so an HTTP error can still be read by the sender), or
 * 'dropped' when even that is exceeded (the caller closes the connection).
 */
function readBody(req: IncomingMessage, max: number, drain: number): Promise<Buffer | 'too large' | 'dropped'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > drain) return Promise.resolve('dropped');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > drain) {
        req.pause();
        resolve('dropped');
      } else if (size <= max) {
        chunks.push(chunk);
      } else {
        chunks.length = 0;
      }
    });
    req.on('end', () => resolve(size > max ? 'too large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
