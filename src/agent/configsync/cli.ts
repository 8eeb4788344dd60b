/**
 * The `carpd config ...` and `carpd sync ...` verbs: argv -> control request
 * -> text for people (or JSON). main.ts hands over with:
 *
 *   const r = await runSyncCli(cmd, positionals.slice(1), { call: (req) => callControl(socket(), req, 120_000), ... });
 *   if (r) { process.stdout.write(r.stdout); process.stderr.write(r.stderr); return r.code; }
 *
 * and formatSyncStatus(status.sync) gives the lines for `carpd status`.
 */
import type { ControlRequest, ControlResponse } from '../control.js';
import type { ConfigSyncStatus, PeerPushResult } from './config-sync.js';
import type { HistoryEntry } from './history.js';

export const SYNC_USAGE = `  config apply FILE   validate FILE, apply it (firewall and every service, or
                      nothing), keep it as a new revision; the primary then
                      pushes the synced areas to the secondaries (--force: even
                      to a secondary running another carpd version)
  config show [REV]   print the active config (or a kept revision)
  config history      the kept revisions: who, when, from where
  config diff REV [TO]  what changed from revision REV to TO (default: active),
                      in canonical form (--raw: the files as stored)
  config rollback REV make revision REV active again (on the primary: and push)
  sync status         config sync: endpoint, revisions, drift, each peer
  sync push           push the active config to the secondaries now (--force)
  sync trust PEER FP  pin PEER's certificate fingerprint (after checking it
                      in PEER's carpd status)
`;

export interface SyncCliIo {
  call(req: ControlRequest): Promise<ControlResponse>;
  readFile(path: string): Promise<string>;
  json?: boolean;
  force?: boolean;
  /** Who is typing (recorded as "by" in the history). */
  user?: string;
  /** config diff: compare the stored texts, comments included. */
  raw?: boolean;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class SyncUsageError extends Error {}

/** Runs `config ...` / `sync ...`; undefined when the verb is not config sync's. */
export async function runSyncCli(cmd: string | undefined, args: readonly string[], io: SyncCliIo): Promise<CliResult | undefined> {
  const [sub, a1, a2] = args;
  const user = io.user ?? 'root';
  const force = io.force === true;
  let req: ControlRequest;
  let render: (r: ControlResponse & { ok: true }) => string;
  if (cmd === 'config' && sub === 'apply') {
    if (a1 === undefined) throw new SyncUsageError('usage: carpd config apply FILE [--force]');
    req = { cmd: 'config.apply', text: await io.readFile(a1), file: a1, by: user, from: 'cli', force };
    render = formatApplied;
  } else if (cmd === 'config' && sub === 'show') {
    req = a1 === undefined ? { cmd: 'config.show' } : { cmd: 'config.show', revision: a1 };
    render = (r) => String(r.text);
  } else if (cmd === 'config' && sub === 'history') {
    req = { cmd: 'config.history' };
    render = (r) => formatHistory(r.revisions as HistoryEntry[]);
  } else if (cmd === 'config' && sub === 'diff') {
    if (a1 === undefined) throw new SyncUsageError('usage: carpd config diff REV [TO]');
    req = { cmd: 'config.diff', revision: a1, ...(a2 === undefined ? {} : { to: a2 }), raw: io.raw === true };
    render = (r) => (r.diff === '' ? 'no difference\n' : String(r.diff));
  } else if (cmd === 'config' && sub === 'rollback') {
    if (a1 === undefined) throw new SyncUsageError('usage: carpd config rollback REV [--force]');
    req = { cmd: 'config.rollback', revision: a1, by: user, force };
    render = formatApplied;
  } else if (cmd === 'sync' && sub === 'status') {
    req = { cmd: 'sync.status' };
    render = (r) => formatSyncStatus(r.sync as ConfigSyncStatus).join('\n') + '\n';
  } else if (cmd === 'sync' && sub === 'push') {
    req = { cmd: 'sync.push', force };
    render = (r) => formatPeers(r.peers as PeerPushResult[]).join('\n') + '\n';
  } else if (cmd === 'sync' && sub === 'trust') {
    if (a1 === undefined || a2 === undefined) throw new SyncUsageError('usage: carpd sync trust PEER FINGERPRINT');
    req = { cmd: 'sync.trust', peer: a1, fingerprint: a2 };
    render = (r) => `pinned ${String(r.peer)}'s certificate ${String(r.fingerprint)}\n`;
  } else {
    return undefined;
  }
  const res = await io.call(req);
  if (io.json) return { code: res.ok && res.synced !== false ? 0 : 1, stdout: JSON.stringify(res) + '\n', stderr: '' };
  if (!res.ok) {
    const peers = Array.isArray(res.peers) ? `${formatPeers(res.peers as PeerPushResult[]).join('\n')}\n` : '';
    const head = req.cmd === 'config.apply' || req.cmd === 'config.rollback' ? 'config rejected, the running config is unchanged:\n' : '';
    return { code: 1, stdout: peers, stderr: `${head}${res.error}\n` };
  }
  const out = render(res);
  return { code: res.synced === false ? 1 : 0, stdout: out, stderr: res.synced === false ? 'applied here, but not on every peer (see above)\n' : '' };
}

function formatApplied(r: ControlResponse): string {
  const lines = [r.changed === false ? `config unchanged: revision ${String(r.revision)}` : `config applied: revision ${String(r.revision)}`];
  lines.push(...formatPeers((r.peers ?? []) as PeerPushResult[]));
  for (const w of (r.warnings ?? []) as string[]) lines.push(`  warning: ${w}`);
  return lines.join('\n') + '\n';
}

export function formatPeers(peers: readonly PeerPushResult[]): string[] {
  return peers.map((p) =>
    p.ok
      ? `  ${p.node}: synced, its revision ${p.revision ?? '?'}${p.changed === false ? ' (already equal)' : ''}${p.latencyMs === undefined ? '' : `, active there ${p.latencyMs} ms after the commit`}`
      : `  ${p.node}: NOT SYNCED: ${(p.error ?? '').replace(/\n/g, '\n    ')}`,
  );
}

export function formatHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'no revisions\n';
  const rows = entries.map((e) => `${e.active ? '*' : ' '} ${String(e.revision).padStart(4)}  ${e.at}  ${e.by.padEnd(10)} ${e.from}${e.note === undefined ? '' : `  (${e.note})`}`);
  return `  rev   when                      by         from\n${rows.join('\n')}\n`;
}

/** Lines for `carpd status` (and `carpd sync status`). */
export function formatSyncStatus(s: ConfigSyncStatus, now = Date.now()): string[] {
  const ago = (iso: string | undefined) => {
    if (iso === undefined) return 'never';
    const sec = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return sec < 120 ? `${sec}s ago` : sec < 7200 ? `${Math.round(sec / 60)}m ago` : `${Math.round(sec / 3600)}h ago`;
  };
  const endpoint = s.endpoint.listening.length > 0 ? `listening on ${s.endpoint.listening.join(', ')}` : `NOT LISTENING${s.endpoint.error === undefined ? '' : ` (${s.endpoint.error})`}`;
  const lines = [
    `config sync: ${s.enabled ? 'enabled' : 'disabled ([sync] config_sync = no)'}, ${s.role}, carpd ${s.carpdVersion}, protocol ${s.protocol}`,
    `  revision ${s.revision}, last change by ${s.lastChange.by} from ${s.lastChange.from} ${ago(s.lastChange.at)}; areas: ${s.areas.join(', ') || 'none'}`,
  ];
  if (s.enabled) lines.push(`  endpoint ${endpoint}${s.endpoint.fingerprint === undefined ? '' : `, certificate ${s.endpoint.fingerprint}`}`);
  if (s.lastApplyError !== undefined) lines.push(`  SERVICES NOT APPLIED: ${s.lastApplyError.split('\n')[0]}`);
  if (s.received !== undefined) {
    const r = s.received;
    lines.push(`  last received ${ago(r.at)}: ${r.from}'s revision ${r.peerRevision} by ${r.by} -> revision ${r.revision} here${r.forced ? ' (FORCED past a version mismatch)' : ''}`);
  }
  if (s.drift.detected) lines.push(`  DRIFT: ${s.drift.areas.join(', ')} edited on this node since the last sync; the next sync replaces them`);
  for (const p of s.peers) {
    const last = p.lastSuccessAt === undefined ? 'never synced' : `last sync ${ago(p.lastSuccessAt)}: revision ${p.syncedRevision ?? '?'} here -> ${p.peerRevision ?? '?'} there`;
    lines.push(`  peer ${p.node} (${p.address}): ${last}${p.peerVersion === undefined ? '' : `, carpd ${p.peerVersion}`}`);
    if (p.lastError !== undefined) lines.push(`    LAST ERROR ${ago(p.lastErrorAt)}: ${p.lastError.split('\n').join('\n      ')}`);
    if (p.drift !== undefined && p.drift.length > 0) lines.push(`    DRIFT on ${p.node}: ${p.drift.join(', ')}`);
    for (const w of p.warnings ?? []) lines.push(`    warning: ${w}`);
  }
  return lines;
}
