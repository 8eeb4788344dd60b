/**
 * `carpd config history | diff REV | rollback REV` over the revisions the
 * StateStore keeps (store.ts: revisions/NNNNNN.ini + .json, the last N).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { siteToIni } from '../../config/serialize.js';
import { parseSite } from '../../config/site.js';
import type { RevisionInfo, StateStore } from '../store.js';
import { unifiedDiff } from './diff.js';

/** The text of a stored revision; the path mirrors StateStore's layout (revisions/000012.ini). */
export async function readRevision(store: StateStore, revision: number): Promise<string | undefined> {
  if (!Number.isInteger(revision) || revision < 1) return undefined;
  return readFile(join(store.dir, 'revisions', `${String(revision).padStart(6, '0')}.ini`), 'utf8').catch(() => undefined);
}

export interface HistoryEntry extends RevisionInfo {
  active: boolean;
}

/** Newest first; `active` marks the revision in force. */
export async function history(store: StateStore, activeRevision: number): Promise<HistoryEntry[]> {
  return (await store.revisions()).reverse().map((r) => ({ ...r, active: r.revision === activeRevision }));
}

export function describeRevision(r: RevisionInfo | undefined, revision: number): string {
  if (r === undefined) return `revision ${revision}`;
  return `revision ${r.revision} (${r.at} by ${r.by} from ${r.from})`;
}

export class NoSuchRevision extends Error {
  constructor(
    readonly revision: number,
    kept: number[],
  ) {
    super(`no revision ${revision} on this node (kept: ${kept.length === 0 ? 'none' : `${kept[0]}-${kept[kept.length - 1]}`})`);
    this.name = 'NoSuchRevision';
  }
}

/**
 * Unified diff from revision `from` to revision `to`. '' when equal.
 *
 * By default both sides are compared in canonical form (siteToIni): what
 * changed in the config, not in its comments and layout, which matters on a
 * secondary, whose first received revision replaces the commented factory
 * file with the canonical merge. `raw` compares the stored texts.
 */
export async function diffRevisions(store: StateStore, from: number, to: number, opts: { raw?: boolean } = {}): Promise<string> {
  const infos = await store.revisions();
  const kept = infos.map((r) => r.revision);
  const [a, b] = await Promise.all([readRevision(store, from), readRevision(store, to)]);
  if (a === undefined) throw new NoSuchRevision(from, kept);
  if (b === undefined) throw new NoSuchRevision(to, kept);
  const view = opts.raw ? (t: string) => t : canonical;
  return unifiedDiff(view(a), view(b), {
    fromLabel: describeRevision(infos.find((r) => r.revision === from), from),
    toLabel: describeRevision(infos.find((r) => r.revision === to), to),
  });
}

/** The canonical form of a stored revision; its own text if it no longer parses. */
function canonical(text: string): string {
  try {
    return siteToIni(parseSite(text, 'revision'));
  } catch {
    return text;
  }
}
