/**
 * A line diff for `carpd config diff`: Myers' O(ND) algorithm (the one
 * behind `diff` and git), printed in the unified format people already read.
 * Site files are a few hundred lines and revisions differ by a few, so D is
 * small; the trace kept for the backtrack is O(D²).
 */
export type DiffOp = { op: ' ' | '-' | '+'; line: string };

/** Inputs this large are refused rather than risking seconds of CPU on the agent. */
const MAX_LINES = 100_000;

export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  if (n + m > MAX_LINES) throw new Error(`diff: inputs of ${n + m} lines are too large`);
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d]: v for diagonals -d..d as they were before step d.
  const trace: Int32Array[] = [];
  let done = false;
  for (let d = 0; d <= max && !done; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[off + k - 1] ?? 0) < (v[off + k + 1] ?? 0));
      let x = down ? (v[off + k + 1] ?? 0) : (v[off + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
  }
  // Walk back from (n, m): each step d came from diagonal k+1 (an insertion) or k-1 (a deletion), then a snake.
  const ops: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const before = trace[d] as Int32Array;
    const at = (k: number) => before[k + d] ?? 0;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX + (down ? 0 : 1) && y > prevY + (down ? 1 : 0)) {
      ops.push({ op: ' ', line: a[--x] as string });
      y--;
    }
    if (down) ops.push({ op: '+', line: b[--y] as string });
    else ops.push({ op: '-', line: a[--x] as string });
  }
  while (x > 0 && y > 0) {
    ops.push({ op: ' ', line: a[--x] as string });
    y--;
  }
  return ops.reverse();
}

export interface UnifiedOptions {
  fromLabel: string;
  toLabel: string;
  /** Unchanged lines shown around each change. Default 3. */
  context?: number;
}

/** `diff -u` style text; '' when the texts are equal. */
export function unifiedDiff(from: string, to: string, opts: UnifiedOptions): string {
  const ops = diffLines(splitLines(from), splitLines(to));
  const context = opts.context ?? 3;
  const changes = ops.flatMap((o, i) => (o.op === ' ' ? [] : [i]));
  if (changes.length === 0) return '';
  // Group changes whose context windows touch into hunks of op indices [start, end).
  const hunks: [number, number][] = [];
  for (const i of changes) {
    const start = Math.max(0, i - context);
    const end = Math.min(ops.length, i + context + 1);
    const last = hunks[hunks.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = end;
    else hunks.push([start, end]);
  }
  // Line numbers at every op index.
  const aLine: number[] = [];
  const bLine: number[] = [];
  let ai = 1;
  let bi = 1;
  for (const o of ops) {
    aLine.push(ai);
    bLine.push(bi);
    if (o.op !== '+') ai++;
    if (o.op !== '-') bi++;
  }
  const out = [`--- ${opts.fromLabel}`, `+++ ${opts.toLabel}`];
  for (const [start, end] of hunks) {
    const slice = ops.slice(start, end);
    const aCount = slice.filter((o) => o.op !== '+').length;
    const bCount = slice.filter((o) => o.op !== '-').length;
    const aStart = aCount === 0 ? (aLine[start] ?? 1) - 1 : (aLine[start] ?? 1);
    const bStart = bCount === 0 ? (bLine[start] ?? 1) - 1 : (bLine[start] ?? 1);
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of slice) out.push(`${o.op}${o.line}`);
  }
  return `${out.join('\n')}\n`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
