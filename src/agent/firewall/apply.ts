/**
 * The I/O shell around nft: check a ruleset, apply it, read it back, and
 * write sysctls.
 *
 * `nft -f` commits a file as one netlink transaction: when any part is
 * rejected (a syntax error, or a kernel error such as a jump to a missing
 * chain) nothing of it is applied and the running ruleset stays as it was.
 * applyRuleset adds a `nft -c` check first so the error comes back before
 * anything is attempted, with nft's own message and the line it points at.
 *
 * Every function takes an optional `netns` (run through `ip netns exec`) so
 * rigs can drive a namespace; `isolated` checks in a private, empty network
 * namespace (`unshare -n`, or `unshare -rn` when not root), which needs no
 * privileges and cannot touch the host: that is how the image builder checks.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { TABLE } from './ruleset.js';
import type { Sysctl } from './sysctl.js';

export interface NftOptions {
  /** Network namespace to run in (`ip netns exec`). */
  netns?: string;
  /** Check in a fresh private network namespace instead (checkRuleset only). */
  isolated?: boolean;
  /** nft executable. Default "nft". */
  nft?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Name used for the input in messages. Default "ruleset". */
  source?: string;
}

/** One error nft reported: 1-based line and column in the submitted text. */
export interface NftError {
  line?: number;
  column?: number;
  message: string;
  /** The offending source line, as nft echoed it. */
  text?: string;
}

export interface NftResult {
  ok: boolean;
  /** nft's messages, with /dev/stdin replaced by the source name; empty when ok. */
  message: string;
  errors: NftError[];
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function command(args: string[], opts: NftOptions, allowIsolated: boolean): [string, string[]] {
  const nft = opts.nft ?? 'nft';
  if (opts.netns !== undefined) return ['ip', ['netns', 'exec', opts.netns, nft, ...args]];
  if (allowIsolated && opts.isolated) return ['unshare', [isRoot() ? '-n' : '-rn', nft, ...args]];
  return [nft, args];
}

/** Parses nft's "file:line:col-col: Error: ..." diagnostics. */
export function parseNftErrors(stderr: string): NftError[] {
  const errors: NftError[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    const m = /^(?:[^:\n]*):(\d+):(\d+)(?:-\d+)?: Error: (.*)$/.exec(l);
    if (m !== null) {
      const e: NftError = { line: Number(m[1]), column: Number(m[2]), message: m[3] ?? '' };
      const next = lines[i + 1];
      if (next !== undefined && next.trim() !== '' && !/^\s*\^/.test(next) && !/: Error: /.test(next)) e.text = next.trim();
      errors.push(e);
    } else if (/Error: /.test(l)) {
      errors.push({ message: l.replace(/^.*?Error: /, '') });
    }
  }
  if (errors.length === 0 && stderr.trim() !== '') errors.push({ message: stderr.trim().split('\n')[0] ?? '' });
  return errors;
}

function describe(stderr: string, source: string): string {
  return stderr.replace(/\/dev\/stdin:/g, `${source}:`).trim();
}

async function runNft(args: string[], input: string | undefined, opts: NftOptions, allowIsolated = false): Promise<NftResult & { stdout: string }> {
  const [file, argv] = command(args, opts, allowIsolated);
  const r = await execa(file, argv, {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const source = opts.source ?? 'ruleset';
  if (r.exitCode === 0 && !r.timedOut) return { ok: true, message: '', errors: [], stdout };
  const message = r.timedOut ? `${file} timed out` : describe(stderr, source) || r.shortMessage || `${file} failed`;
  return { ok: false, message, errors: parseNftErrors(stderr), stdout };
}

/** `nft -c -f -`: would this ruleset load? Nothing is changed. */
export async function checkRuleset(text: string, opts: NftOptions = {}): Promise<NftResult> {
  const { stdout: _stdout, ...r } = await runNft(['-c', '-f', '-'], text, opts, true);
  return r;
}

export interface ApplyResult extends NftResult {
  /** True when the new ruleset is now active. */
  applied: boolean;
  /** Which step failed: the check, or the load itself. */
  stage?: 'check' | 'apply';
}

/**
 * Checks, then loads the ruleset. On failure nothing changed: the previous
 * ruleset stays active (nft's transaction), and the result carries nft's message.
 */
export async function applyRuleset(text: string, opts: NftOptions = {}): Promise<ApplyResult> {
  const local = { ...opts, isolated: false };
  const check = await checkRuleset(text, local);
  if (!check.ok) return { ...check, applied: false, stage: 'check' };
  const { stdout: _stdout, ...load } = await runNft(['-f', '-'], text, local);
  if (!load.ok) return { ...load, applied: false, stage: 'apply' };
  return { ...load, applied: true };
}

/** `nft list table inet carpenter` (undefined when the table does not exist). */
export async function listCarpenterTable(opts: NftOptions = {}): Promise<string | undefined> {
  const r = await runNft(['list', 'table', 'inet', TABLE], undefined, opts);
  return r.ok ? r.stdout : undefined;
}

/** `nft list ruleset`. */
export async function listRuleset(opts: NftOptions = {}): Promise<string> {
  const r = await runNft(['list', 'ruleset'], undefined, opts);
  if (!r.ok) throw new Error(`nft list ruleset: ${r.message}`);
  return r.stdout;
}

// ---- sysctls ------------------------------------------------------------------------

export interface SysctlResult {
  sysctl: Sysctl;
  ok: boolean;
  skipped?: string;
  error?: string;
}

export interface SysctlApplyOptions {
  netns?: string;
  /** Skip host-wide settings (a rig's namespace cannot write them). */
  skipHostScope?: boolean;
  /** Default /proc/sys. */
  procRoot?: string;
}

/** Writes the settings in order; reports each one, keeps going after a failure. */
export async function applySysctls(list: readonly Sysctl[], opts: SysctlApplyOptions = {}): Promise<SysctlResult[]> {
  const results: SysctlResult[] = [];
  const root = opts.procRoot ?? '/proc/sys';
  for (const s of list) {
    if (opts.skipHostScope && s.scope === 'host') {
      results.push({ sysctl: s, ok: true, skipped: 'host-wide setting' });
      continue;
    }
    if (s.path.split('/').includes('..')) {
      results.push({ sysctl: s, ok: false, error: 'path escapes /proc/sys' });
      continue;
    }
    try {
      if (opts.netns === undefined) {
        await writeFile(join(root, s.path), `${s.value}\n`);
      } else {
        const r = await execa('ip', ['netns', 'exec', opts.netns, 'sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', s.value, join(root, s.path)], { reject: false, timeout: 10_000 });
        if (r.exitCode !== 0) throw new Error(String(r.stderr || r.shortMessage).trim());
      }
      results.push({ sysctl: s, ok: true });
    } catch (e) {
      results.push({ sysctl: s, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}
