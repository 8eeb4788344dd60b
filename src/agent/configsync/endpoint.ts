/**
 * The XML-RPC endpoint's lifecycle on one node: listen on the node's SYNC
 * address(es) with its TLS identity and the cluster's credentials, restart
 * when the site changes any of those, retry while the address is not
 * configured yet (EADDRNOTAVAIL at boot), stop with carpd.
 */
import type { Site } from '../../config/types.js';
import type { Dispatcher } from '../xmlrpc/dispatch.js';
import type { TlsIdentity } from '../xmlrpc/identity.js';
import { XmlRpcServer, type ServerStats } from '../xmlrpc/server.js';
import { syncAddresses } from './sync-addresses.js';
import type { SyncLog } from './types.js';

export interface EndpointStatus {
  listening: string[];
  fingerprint?: string;
  error?: string;
  stats?: ServerStats;
}

const RETRY_MS = 2000;

export class Endpoint {
  private server: XmlRpcServer | undefined;
  /** What the running (or last attempted) server was made from; '' forces a new attempt. */
  private key = '';
  private error: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly node: string,
    private readonly identity: TlsIdentity,
    private readonly dispatcher: Dispatcher,
    private readonly log: SyncLog,
  ) {}

  /** Starts, restarts or stops the server to match the site. */
  async reconcile(site: Site): Promise<void> {
    if (this.stopped) return;
    const spec = site.sync.configSync && site.sync.password !== undefined ? { addresses: syncAddresses(site, this.node), port: site.sync.port, user: site.sync.username, password: site.sync.password } : undefined;
    const key = JSON.stringify(spec ?? null);
    if (key === this.key) return;
    clearTimeout(this.retryTimer);
    await this.server?.stop();
    this.server = undefined;
    this.key = key;
    if (spec === undefined) return;
    const server = new XmlRpcServer({
      addresses: spec.addresses,
      port: spec.port,
      key: this.identity.key,
      cert: this.identity.cert,
      credentials: { user: spec.user, password: spec.password },
      dispatcher: this.dispatcher,
      log: this.log,
    });
    try {
      await server.start();
      this.server = server;
      this.error = undefined;
      this.log.info('xml-rpc endpoint listening', { on: server.listening.join(','), fingerprint: this.identity.fingerprint });
    } catch (err) {
      this.error = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      this.key = '';
      this.log.warn(`xml-rpc endpoint not listening, retrying in ${RETRY_MS / 1000} s`, { on: spec.addresses.join(','), port: spec.port, reason: this.error });
      this.retryTimer = setTimeout(() => void this.reconcile(site), RETRY_MS);
      this.retryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.server?.stop();
    this.server = undefined;
  }

  status(): EndpointStatus {
    return {
      listening: this.server?.listening ?? [],
      fingerprint: this.identity.fingerprint,
      ...(this.error === undefined ? {} : { error: this.error }),
      ...(this.server === undefined ? {} : { stats: { ...this.server.stats } }),
    };
  }
}
