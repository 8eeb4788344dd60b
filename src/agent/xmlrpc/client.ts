/**
 * An XML-RPC client over HTTPS that pins the server's certificate.
 *
 * The peer's certificate is self-signed, so no CA can vouch for it; instead
 * the caller's `verifyPeer` sees its SHA-256 fingerprint right after the TLS
 * handshake and accepts or throws. Only then is the HTTP request, with the
 * password in it, written to the socket: a wrong peer never sees the
 * password. (Node's own `checkServerIdentity` hook would come too late: it
 * runs only after CA verification, which a self-signed certificate fails.)
 */
import { request } from 'node:http';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { basicAuthHeader, type Credentials } from './auth.js';
import { encodeMethodCall, parseMethodResponse } from './codec.js';
import { XmlRpcFault } from './faults.js';
import type { XmlRpcValue } from './value.js';

export interface XmlRpcClientOptions {
  host: string;
  port: number;
  /** Default /RPC2. */
  path?: string;
  credentials: Credentials;
  /** Throw to refuse the server (its fingerprint is "AB:CD:..."). Runs before the request is sent. */
  verifyPeer: (fingerprint: string, cert: PeerCertificate) => void | Promise<void>;
  /** Source address (this node's SYNC address), so the peer's firewall recognises us. */
  localAddress?: string;
  /** Whole call, connect to last byte. Default 30 s: applying on the peer includes nft. */
  timeoutMs?: number;
  /** Default 4 MiB. */
  maxResponseBytes?: number;
}

/** The server answered with an HTTP error instead of a methodResponse (401, 429, 413, ...). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly retryAfterSec?: number,
  ) {
    super(`HTTP ${status}${body === '' ? '' : `: ${body}`}`);
    this.name = 'HttpStatusError';
  }
}

/** verifyPeer refused the certificate; nothing was sent. */
export class PeerCertificateError extends Error {
  constructor(
    message: string,
    readonly fingerprint: string,
  ) {
    super(message);
    this.name = 'PeerCertificateError';
  }
}

export class XmlRpcClient {
  constructor(private readonly opts: XmlRpcClientOptions) {}

  get target(): string {
    return `${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.opts.port}`;
  }

  /** Calls a method; throws XmlRpcFault for a fault answer, HttpStatusError, PeerCertificateError, or a network error. */
  async call(method: string, params: readonly XmlRpcValue[] = []): Promise<XmlRpcValue> {
    const body = Buffer.from(encodeMethodCall(method, params), 'utf8');
    const deadline = Date.now() + (this.opts.timeoutMs ?? 30_000);
    const socket = await this.connect(deadline);
    const answer = await this.post(socket, body, deadline);
    const parsed = parseMethodResponse(answer);
    if (parsed.fault) throw new XmlRpcFault(parsed.code, parsed.message);
    return parsed.value;
  }

  private connect(deadline: number): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: this.opts.host,
        port: this.opts.port,
        ...(this.opts.localAddress === undefined ? {} : { localAddress: this.opts.localAddress }),
        rejectUnauthorized: false, // the pin below is the verification
        minVersion: 'TLSv1.2',
      });
      const timer = setTimeout(() => socket.destroy(new Error(`no TLS connection to ${this.target} within the timeout`)), Math.max(1, deadline - Date.now()));
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const cert = socket.getPeerCertificate();
        Promise.resolve()
          .then(() => this.opts.verifyPeer(cert.fingerprint256, cert))
          .then(
            () => resolve(socket),
            (err: unknown) => {
              socket.destroy();
              reject(err);
            },
          );
      });
    });
  }

  private post(socket: TLSSocket, body: Buffer, deadline: number): Promise<string> {
    const max = this.opts.maxResponseBytes ?? 4 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          createConnection: () => socket,
          method: 'POST',
          path: this.opts.path ?? '/RPC2',
          headers: {
            Host: this.target,
            'Content-Type': 'text/xml',
            'Content-Length': body.length,
            Authorization: basicAuthHeader(this.opts.credentials),
            'User-Agent': 'carpd',
            Connection: 'close',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > max) req.destroy(new Error(`response from ${this.target} larger than ${max} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) {
              const retry = Number(res.headers['retry-after']);
              reject(new HttpStatusError(res.statusCode ?? 0, text.trim().slice(0, 300), Number.isFinite(retry) ? retry : undefined));
            } else {
              resolve(text);
            }
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`${this.target} did not answer within the timeout`)), Math.max(1, deadline - Date.now()));
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}
