/**
 * The control-socket commands of config sync, for the daemon's switch
 * (src/agent/control.ts carries them; `carpd config ...` / `carpd sync ...`
 * send them). handleSyncCommand answers the commands it knows and returns
 * undefined for any other, so the daemon can try it first:
 *
 *   const r = await handleSyncCommand(sync, req); if (r) return r;
 *
 *   config.apply    { text, file?, by?, from?, force?, push? }  validate, apply, commit, push
 *   config.show     { revision? }                                the active (or a kept) config text
 *   config.history  {}                                           kept revisions, newest first
 *   config.diff     { revision, to?, raw? }                      unified diff revision -> to (default active), canonical unless raw
 *   config.rollback { revision, by?, force? }                    make a kept revision active (primary: and push)
 *   sync.status     {}                                           ConfigSync.status()
 *   sync.push       { force? }                                   push the active config to every peer now
 *   sync.refresh    {}                                           ask the peers for their status now
 *   sync.trust      { peer, fingerprint }                        pin a peer's certificate (explicit acceptance)
 */
import type { ControlRequest, ControlResponse } from '../control.js';
import type { ApplyOutcome, ConfigSync } from './config-sync.js';
import { readRevision } from './history.js';

export const SYNC_COMMANDS = ['config.apply', 'config.show', 'config.history', 'config.diff', 'config.rollback', 'sync.status', 'sync.push', 'sync.refresh', 'sync.trust'] as const;

export async function handleSyncCommand(sync: ConfigSync, req: ControlRequest): Promise<ControlResponse | undefined> {
  switch (req.cmd) {
    case 'config.apply':
      return outcome(
        await sync.applyLocal({
          text: String(req.text ?? ''),
          file: String(req.file ?? 'site.ini'),
          by: String(req.by ?? 'local'),
          from: String(req.from ?? 'carpd config apply'),
          force: req.force === true,
          push: req.push !== false,
        }),
      );
    case 'config.show': {
      if (req.revision === undefined) return { ok: true, revision: sync.revision, text: (await sync.store.readSite()) ?? '' };
      const rev = revisionOf(req.revision);
      const text = rev === undefined ? undefined : await readRevision(sync.store, rev);
      return text === undefined ? { ok: false, error: `no revision ${String(req.revision)} on ${sync.node}` } : { ok: true, revision: rev, text };
    }
    case 'config.history':
      return { ok: true, revisions: await sync.history() };
    case 'config.diff': {
      const from = revisionOf(req.revision);
      const to = req.to === undefined ? undefined : revisionOf(req.to);
      if (from === undefined || (req.to !== undefined && to === undefined)) return { ok: false, error: 'config diff: give a revision number (carpd config history lists them)' };
      try {
        return { ok: true, diff: await sync.diff(from, to, { raw: req.raw === true }) };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    case 'config.rollback': {
      const rev = revisionOf(req.revision);
      if (rev === undefined) return { ok: false, error: 'config rollback: give a revision number (carpd config history lists them)' };
      return outcome(await sync.rollback(rev, { by: String(req.by ?? 'local'), force: req.force === true }));
    }
    case 'sync.status':
      return { ok: true, sync: sync.status() };
    case 'sync.push': {
      const peers = (await sync.pushToPeers({ force: req.force === true })).map(({ answeredAt: _t, ...p }) => p);
      return peers.every((p) => p.ok) ? { ok: true, peers } : { ok: false, error: peers.filter((p) => !p.ok).map((p) => p.error).join('\n'), peers };
    }
    case 'sync.refresh':
      await sync.refreshPeers();
      return { ok: true, peers: sync.status().peers };
    case 'sync.trust':
      try {
        return { ok: true, peer: String(req.peer), fingerprint: await sync.trust(String(req.peer ?? ''), String(req.fingerprint ?? '')) };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    default:
      return undefined;
  }
}

function revisionOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * A local change is ok when this node applied it; peers that failed are
 * reported (peers[].error) but do not undo it here, as in pfSense: the
 * primary's config is the reference, the admin fixes the peer and pushes again.
 */
function outcome(o: ApplyOutcome): ControlResponse {
  if (!o.ok) return { ok: false, error: o.error, stage: o.stage, ...(o.problems === undefined ? {} : { problems: o.problems }) };
  return { ok: true, revision: o.revision, changed: o.changed, applied: o.applied, peers: o.peers, warnings: o.warnings, synced: o.peers.every((p) => p.ok), ...(o.committedAt === undefined ? {} : { committedAt: o.committedAt }) };
}
