/**
 * "The new config and every service it touches, or none."
 *
 * A service (the nft firewall; the daemon can add the election, DHCP, ...)
 * is a ServiceUnit: from a site it prepares a PreparedService, which can be
 * checked without effect and applied. applyAtomically runs
 *
 *   prepare all (render)  ->  check all  ->  apply one by one
 *
 * and when an apply fails, re-applies the *previous* site's prepared config
 * to every unit already switched, newest first. A unit's own apply must be
 * all-or-nothing (nft -f is one kernel transaction), so the failing unit
 * itself needs no undo. Nothing here knows what a service is: the effects
 * are injected, which is what the unit tests do with fakes.
 */
import type { Site } from '../../config/types.js';

export interface PreparedService {
  /** What will be applied, for "unchanged" detection (e.g. the ruleset text). Equal keys: the unit is skipped. */
  key: string;
  /** Would it apply? No effect. Throws with the service's own message. */
  check(): Promise<void>;
  /** Makes it active; on failure throws and leaves the previous state active. */
  apply(): Promise<void>;
}

export interface ServiceUnit {
  name: string;
  /** Render for a site; throw when the site cannot be expressed for this service. */
  prepare(site: Site): PreparedService | Promise<PreparedService>;
}

export type Stage = 'render' | 'check' | 'apply' | 'commit';

export type TransactionResult =
  | { ok: true; applied: string[]; unchanged: string[] }
  | {
      ok: false;
      stage: Stage;
      service: string;
      message: string;
      /** Units switched back to the previous config. */
      reverted: string[];
      /** Units that could not be switched back (the node needs attention). */
      revertErrors: string[];
    };

/**
 * Switches every unit from `previous` to `next`, or leaves all on `previous`.
 * `commit` runs last (storing the revision); if it throws, the units are reverted too.
 */
export async function applyAtomically(units: readonly ServiceUnit[], next: Site, previous: Site | undefined, commit: () => Promise<void> = async () => {}): Promise<TransactionResult> {
  const fresh: PreparedService[] = [];
  const old: (PreparedService | undefined)[] = [];
  for (const unit of units) {
    try {
      fresh.push(await unit.prepare(next));
    } catch (err) {
      return failed('render', unit.name, err, [], []);
    }
    // The previous config rendered when it was applied; if it no longer does, no undo is possible for this unit.
    old.push(previous === undefined ? undefined : await Promise.resolve(unit.prepare(previous)).catch(() => undefined));
  }
  const changed = units.map((_, i) => fresh[i]?.key !== old[i]?.key);
  for (const [i, unit] of units.entries()) {
    if (!changed[i]) continue;
    try {
      await fresh[i]?.check();
    } catch (err) {
      return failed('check', unit.name, err, [], []);
    }
  }
  const switched: number[] = [];
  for (const [i, unit] of units.entries()) {
    if (!changed[i]) continue;
    try {
      await fresh[i]?.apply();
      switched.push(i);
    } catch (err) {
      return failed('apply', unit.name, err, ...(await revert(units, old, switched)));
    }
  }
  try {
    await commit();
  } catch (err) {
    return failed('commit', 'config store', err, ...(await revert(units, old, switched)));
  }
  return { ok: true, applied: units.filter((_, i) => changed[i]).map((u) => u.name), unchanged: units.filter((_, i) => !changed[i]).map((u) => u.name) };
}

async function revert(units: readonly ServiceUnit[], old: readonly (PreparedService | undefined)[], switched: number[]): Promise<[string[], string[]]> {
  const reverted: string[] = [];
  const errors: string[] = [];
  for (const i of [...switched].reverse()) {
    const name = units[i]?.name ?? '?';
    const prev = old[i];
    if (prev === undefined) {
      errors.push(`${name}: no previous config to go back to`);
      continue;
    }
    try {
      await prev.apply();
      reverted.push(name);
    } catch (err) {
      errors.push(`${name}: ${message(err)}`);
    }
  }
  return [reverted, errors];
}

function failed(stage: Stage, service: string, err: unknown, reverted: string[], revertErrors: string[]): TransactionResult {
  return { ok: false, stage, service, message: message(err), reverted, revertErrors };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One paragraph for logs, faults and the CLI. */
export function describeFailure(r: Extract<TransactionResult, { ok: false }>): string {
  const undo =
    r.revertErrors.length > 0
      ? `\nROLLBACK INCOMPLETE: ${r.revertErrors.join('; ')}`
      : r.reverted.length > 0
        ? `\nrolled back: ${r.reverted.join(', ')} (previous config active again)`
        : '\nnothing was changed';
  return `${r.service} failed at ${r.stage}:\n${r.message}${undo}`;
}
