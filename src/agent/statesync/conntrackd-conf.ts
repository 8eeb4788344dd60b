/**
 * conntrackd.conf for one node: FTFW (reliable: sequence numbers, acks and
 * resends) over the SYNC interface, with the external cache (the backup
 * keeps the peer's states in user space and commits them into the kernel
 * only when it is promoted, as keepalived's primary-backup.sh expects).
 *
 * Pure: site + node + options in, text out. Layout and comments follow
 * Debian's /usr/share/doc/conntrackd/examples/sync/ftfw/conntrackd.conf.
 *
 * Sizing (measured on the namespace rig, conntrackd 1.4.7, kernel 6.x):
 *   - A commit (`-c`) inserts every external entry into the kernel, and each
 *     insertion comes back to the committing daemon as a NEW event. Each
 *     queued event costs about 1.3 KiB of socket buffer (8 MiB overflowed
 *     after 6,554 events), so an 8 MiB NetlinkBufferSize overruns during a
 *     50,000-entry commit while 64 MiB took all 50,000 without an overrun.
 *     The initial buffer is therefore 64 MiB and the daemon may double it up
 *     to 1.5 KiB per conntrack entry the kernel can hold (the limit is only
 *     charged while events are queued).
 *   - NetlinkEventsReliable on, NetlinkOverrunResync off (conntrackd.conf(5)
 *     pairs them): the kernel applies back-pressure instead of silently
 *     dropping events on the packet path, and no overrun-triggered resync
 *     ever sends the whole table back to the peer (the storm DESIGN.md saw).
 *     The promotion sequence re-reads the kernel table (`-R`) right after the
 *     commit anyway.
 *   - Filter From Userspace, not Kernelspace: the kernel-side filter matches
 *     the original destination, so with our own addresses ignored it dropped
 *     port-forwarded connections (original destination = the WAN VIP); the
 *     user-space filter looks at the real endpoints (original source, reply
 *     source) and replicates SNAT and DNAT connections alike (rig-tested).
 */
import { formatIP, networkOf, parseCidr, formatCidr } from '../../config/net.js';
import type { Site } from '../../config/types.js';
import { stateSyncTransport, StateSyncConfigError, type StateSyncOptions } from './transport.js';

export const DEFAULT_CONNTRACK_MAX = 262144;
/** Initial netlink event buffer: holds a 50,000-entry commit burst (measured). */
export const DEFAULT_NETLINK_BUFFER = 64 * 1024 * 1024;
/** Bytes of socket buffer one queued conntrack event costs, with margin (measured about 1,280). */
export const NETLINK_BYTES_PER_EVENT = 1536;
/** UDP/multicast socket buffers for the sync channel (a 50,000-entry bulk resync in ~50 ms). */
export const DEFAULT_SYNC_SOCKET_BUFFER = 8 * 1024 * 1024;

export const CONNTRACKD_PATHS = {
  socket: '/run/conntrackd/conntrackd.ctl',
  lockFile: '/run/conntrackd/conntrackd.lock',
  logFile: '/var/log/conntrackd.log',
};

export interface ConntrackdConfOptions {
  /** UNIX control socket (one per daemon: several can run on one host, e.g. in namespaces). */
  socketPath?: string;
  lockFile?: string;
  /** A file, or false for none. Default /var/log/conntrackd.log. */
  logFile?: string | false;
  /** false (default), true (facility daemon) or a facility name such as local0. */
  syslog?: boolean | string;
  /** Transport knobs; pass the same object to renderRuleset. */
  stateSync?: StateSyncOptions;
  /** Kernel device carrying the sync interface, when it is not named like the site's interface. */
  syncDevice?: string;
  /** The kernel's nf_conntrack_max (routerSysctls sets it); sizes caches and buffers. Default 262144. */
  conntrackMax?: number;
  /** Initial netlink event buffer in bytes. Default 64 MiB. */
  netlinkBufferSize?: number;
  /** Ceiling the daemon may grow the event buffer to. Default conntrackMax x 1.5 KiB. */
  netlinkBufferSizeMaxGrowth?: number;
  /** Sync channel SndSocketBuffer / RcvSocketBuffer. Default 8 MiB. */
  socketBufferSize?: number;
  /**
   * Fixed timeout (s) for committed entries. Default unset: committed entries
   * keep the remaining timeout the master sent (measured: 600 s entries
   * commit with ~597 s left), so idle-but-alive sessions (SSH without
   * keepalive) survive; a fixed value would cut them.
   */
  commitTimeout?: number;
  /** Seconds after `conntrackd -t` before stale kernel entries expire on a demoted node. Default 60. */
  purgeTimeout?: number;
  /** Ask the peer for a full resync when the daemon starts. Default true. */
  startupResync?: boolean;
  /** Layer-4 protocols to replicate. Default TCP, UDP, SCTP, DCCP. */
  protocols?: string[];
  /**
   * conntrackd runs SCHED_RR priority 99 unless told otherwise (measured).
   * Leave undefined to keep that; set to pin a policy explicitly.
   */
  scheduler?: { type: 'RR' | 'FIFO'; priority: number };
}

export const DEFAULT_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'DCCP'];
const KNOWN_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'DCCP', 'ICMP', 'IPv6-ICMP'];

/** Netlink buffer sizes for a table of `conntrackMax` entries. */
export function netlinkBuffers(conntrackMax: number): { initial: number; maxGrowth: number } {
  const maxGrowth = Math.max(DEFAULT_NETLINK_BUFFER, conntrackMax * NETLINK_BYTES_PER_EVENT);
  return { initial: Math.min(DEFAULT_NETLINK_BUFFER, maxGrowth), maxGrowth };
}

/** Addresses whose connections are not replicated: the cluster's own endpoints. */
export function ignoredAddresses(site: Site): { v4: string[]; v6: string[] } {
  const v4 = new Set<string>(['127.0.0.1']);
  const v6 = new Set<string>(['::1', 'fe80::/10']);
  const add = (text: string) => ((text.includes(':') ? v6 : v4).add(text));
  for (const node of site.nodes) {
    for (const [iface, cidrs] of Object.entries(node.interfaces)) {
      for (const cidr of cidrs) {
        const c = parseCidr(cidr);
        add(formatIP(c));
        // The sync link carries only cluster traffic: ignore its whole subnet.
        if (iface === site.sync.interface) add(formatCidr(networkOf(c)));
      }
    }
  }
  for (const vip of site.vips) add(formatIP(parseCidr(vip.address)));
  return { v4: [...v4], v6: [...v6] };
}

function checkPath(what: string, path: string): string {
  if (!path.startsWith('/') || /[\s{}#"]/.test(path)) {
    throw new StateSyncConfigError(`${what} "${path}" must be an absolute path without spaces, braces, # or quotes`);
  }
  return path;
}

function positiveInt(what: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new StateSyncConfigError(`${what} must be a positive integer, got ${value}`);
  return value;
}

export function renderConntrackdConf(site: Site, nodeName: string, opts: ConntrackdConfOptions = {}): string {
  if (!site.sync.stateSync) throw new StateSyncConfigError(`state sync is off in site ${site.cluster.name} ([sync] state_sync = no)`);
  const t = stateSyncTransport(site, nodeName, opts.stateSync);
  const conntrackMax = positiveInt('conntrackMax', opts.conntrackMax ?? DEFAULT_CONNTRACK_MAX);
  const buffers = netlinkBuffers(conntrackMax);
  const nlInitial = positiveInt('netlinkBufferSize', opts.netlinkBufferSize ?? buffers.initial);
  const nlMax = Math.max(nlInitial, positiveInt('netlinkBufferSizeMaxGrowth', opts.netlinkBufferSizeMaxGrowth ?? buffers.maxGrowth));
  const sockBuf = positiveInt('socketBufferSize', opts.socketBufferSize ?? DEFAULT_SYNC_SOCKET_BUFFER);
  const socketPath = checkPath('socketPath', opts.socketPath ?? CONNTRACKD_PATHS.socket);
  const lockFile = checkPath('lockFile', opts.lockFile ?? CONNTRACKD_PATHS.lockFile);
  const logFile = opts.logFile === undefined ? CONNTRACKD_PATHS.logFile : opts.logFile;
  if (logFile !== false) checkPath('logFile', logFile);
  const syslog = opts.syslog === undefined || opts.syslog === false ? 'off' : opts.syslog === true ? 'on' : opts.syslog;
  if (!/^(on|off|daemon|local[0-7])$/.test(syslog)) throw new StateSyncConfigError(`syslog "${syslog}" is not on, off, daemon or local0-7`);
  const protocols = opts.protocols ?? DEFAULT_PROTOCOLS;
  for (const p of protocols) {
    if (!KNOWN_PROTOCOLS.includes(p)) throw new StateSyncConfigError(`protocol "${p}" is not one of ${KNOWN_PROTOCOLS.join(', ')}`);
  }
  const device = opts.syncDevice ?? t.interface;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(device)) throw new StateSyncConfigError(`sync device "${device}" is not an interface name`);
  const ignore = ignoredAddresses(site);
  const hashLimit = conntrackMax * 2;
  const hashSize = Math.max(8192, Math.floor(conntrackMax / 2));

  const out: string[] = [];
  const line = (depth: number, text = '') => out.push(text === '' ? '' : `${'\t'.repeat(depth)}${text}`);
  const peerList = t.peers.map((p) => `${p.name} ${p.address}`).join(', ');

  line(0, `# conntrackd.conf for node ${nodeName} of cluster ${site.cluster.name}`);
  line(0, '# Generated by carpenter from the site file; do not edit.');
  line(0, `# FTFW over ${t.kind === 'udp' ? 'unicast UDP' : `multicast ${t.group ?? ''}`} on ${device}: ${t.local} <-> ${peerList}, port ${t.port}.`);
  line(0, '# carpd drives it on CARP/VRRP transitions (see src/agent/statesync/driver.ts).');
  line(0);
  line(0, 'Sync {');
  line(1, 'Mode FTFW {');
  line(2, '# Unacknowledged objects kept for resending: one per conntrack entry.');
  line(2, `ResendQueueSize ${Math.max(131072, conntrackMax)}`);
  if (opts.commitTimeout !== undefined) line(2, `CommitTimeout ${positiveInt('commitTimeout', opts.commitTimeout)}`);
  else line(2, '# CommitTimeout unset: committed entries keep the timeout the master sent.');
  line(2, `PurgeTimeout ${positiveInt('purgeTimeout', opts.purgeTimeout ?? 60)}`);
  line(2, 'ACKWindowSize 300');
  line(2, '# The external cache holds the peer\'s states until a promotion commits them.');
  line(2, 'DisableExternalCache off');
  line(2, `StartupResync ${opts.startupResync === false ? 'off' : 'on'}`);
  line(1, '}');
  if (t.kind === 'udp') {
    const peer = t.peers[0];
    if (peer === undefined) throw new StateSyncConfigError('no peer for the UDP transport');
    const v = t.family === 4 ? 'IPv4' : 'IPv6';
    line(1, `# Unicast to ${peer.name}; the firewall passes UDP ${t.port} between these two addresses only.`);
    line(1, 'UDP Default {');
    line(2, `${v}_address ${t.local}`);
    line(2, `${v}_Destination_Address ${peer.address}`);
    line(2, `Port ${t.port}`);
    line(2, `Interface ${device}`);
  } else {
    line(1, `# Multicast to ${t.peers.map((p) => p.name).join(', ')}; the firewall passes UDP ${t.port} to ${t.group ?? ''} from them only.`);
    line(1, 'Multicast Default {');
    line(2, `IPv4_address ${t.group ?? ''}`);
    line(2, `Group ${t.port}`);
    line(2, `IPv4_interface ${t.local}`);
    line(2, `Interface ${device}`);
  }
  line(2, `SndSocketBuffer ${sockBuf}`);
  line(2, `RcvSocketBuffer ${sockBuf}`);
  line(2, 'Checksum on');
  line(1, '}');
  line(1, 'Options {');
  line(2, '# Committed TCP entries skip window tracking (the backup never saw the windows).');
  line(2, 'TCPWindowTracking off');
  line(1, '}');
  line(0, '}');
  line(0);
  line(0, 'General {');
  line(1, 'Systemd off');
  if (opts.scheduler !== undefined) {
    line(1, 'Scheduler {');
    line(2, `Type ${opts.scheduler.type}`);
    line(2, `Priority ${Math.min(99, Math.max(0, Math.trunc(opts.scheduler.priority)))}`);
    line(1, '}');
  }
  line(1, `# Cache buckets and entry limit: twice nf_conntrack_max (${conntrackMax}), as conntrackd.conf(5) advises.`);
  line(1, `HashSize ${hashSize}`);
  line(1, `HashLimit ${hashLimit}`);
  line(1, `LogFile ${logFile === false ? 'off' : logFile}`);
  line(1, `Syslog ${syslog}`);
  line(1, `LockFile ${lockFile}`);
  line(1, 'UNIX {');
  line(2, `Path ${socketPath}`);
  line(1, '}');
  line(1, `# Sized for the table: a promotion commits every external entry and each comes back as an event.`);
  line(1, `NetlinkBufferSize ${nlInitial}`);
  line(1, `NetlinkBufferSizeMaxGrowth ${nlMax}`);
  line(1, 'NetlinkEventsReliable on');
  line(1, 'NetlinkOverrunResync off');
  line(1, '# User-space filtering sees the real endpoints, so SNAT and DNAT (port-forwarded) flows replicate.');
  line(1, 'Filter From Userspace {');
  line(2, 'Protocol Accept {');
  for (const p of protocols) line(3, p);
  line(2, '}');
  line(2, '# The cluster\'s own endpoints: loopback, every node\'s addresses, the VIPs,');
  line(2, '# the sync subnet and IPv6 link-local. Only forwarded flows are replicated.');
  line(2, 'Address Ignore {');
  for (const a of ignore.v4) line(3, `IPv4_address ${a}`);
  for (const a of ignore.v6) line(3, `IPv6_address ${a}`);
  line(2, '}');
  line(1, '}');
  line(0, '}');
  return `${out.join('\n')}\n`;
}

