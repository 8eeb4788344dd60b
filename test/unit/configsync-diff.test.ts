/** The line diff: minimal (checked against LCS), and printed like diff -u. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffLines, unifiedDiff } from '../../src/agent/configsync/index.js';

function lcs(a: string[], b: string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
  return t[a.length]![b.length]!;
}

describe('line diff', () => {
  it('is a valid, minimal edit script on 500 random pairs', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 500; i++) {
      const a = Array.from({ length: rnd(15) }, () => 'abcd'[rnd(4)] as string);
      const b = Array.from({ length: rnd(15) }, () => 'abcd'[rnd(4)] as string);
      const ops = diffLines(a, b);
      assert.deepEqual(ops.filter((o) => o.op !== '+').map((o) => o.line), a);
      assert.deepEqual(ops.filter((o) => o.op !== '-').map((o) => o.line), b);
      assert.equal(ops.filter((o) => o.op === ' ').length, lcs(a, b), `${a.join('')} -> ${b.join('')}`);
    }
  });

  it('prints unified hunks with context and line numbers', () => {
    const a = ['[alias "web"]', 'type = host', 'members = 192.168.1.10', '', '[rule "a"]', 'interface = LAN', 'action = pass', '', '[rule "b"]', 'interface = WAN', 'action = block', ''].join('\n');
    const b = a.replace('members = 192.168.1.10', 'members = 192.168.1.10, 192.168.1.11').replace('action = block', 'action = reject');
    assert.equal(
      unifiedDiff(a, b, { fromLabel: 'revision 3', toLabel: 'revision 4', context: 1 }),
      [
        '--- revision 3',
        '+++ revision 4',
        '@@ -2,3 +2,3 @@',
        ' type = host',
        '-members = 192.168.1.10',
        '+members = 192.168.1.10, 192.168.1.11',
        ' ',
        '@@ -10,2 +10,2 @@',
        ' interface = WAN',
        '-action = block',
        '+action = reject',
        '',
      ].join('\n'),
    );
    assert.equal(unifiedDiff(a, a, { fromLabel: 'x', toLabel: 'y' }), '');
    assert.equal(unifiedDiff('', 'one\n', { fromLabel: 'x', toLabel: 'y' }), '--- x\n+++ y\n@@ -0,0 +1,1 @@\n+one\n');
  });
});
