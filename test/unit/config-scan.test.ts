import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ConfigErrors, ErrorList, formatProblem } from '../../src/config/errors.js';
import { scanIni } from '../../src/config/scan.js';

function scan(text: string) {
  const errors = new ErrorList();
  const result = scanIni(text, 'x.ini', errors);
  return { sections: result.sections, messages: errors.errors.map((e) => e.message) };
}

describe('config scanner', () => {
  it('records the line of every section and key', () => {
    const { sections, messages } = scan('; top\n\n[cluster]\nname = office\n# note\n[node "fw1.example"]\n  role = primary ; inline\n');
    assert.deepEqual(messages, []);
    assert.equal(sections.length, 2);
    const [cluster, node] = sections;
    assert.equal(cluster?.line, 3);
    assert.equal(cluster?.label, '[cluster]');
    assert.deepEqual(cluster?.keys.get('name'), { key: 'name', value: 'office', line: 4 });
    // Dots in names stay in the name (ini would read them as nesting).
    assert.equal(node?.name, 'fw1.example');
    assert.equal(node?.label, '[node "fw1.example"]');
    assert.deepEqual(node?.keys.get('role'), { key: 'role', value: 'primary', line: 7 });
  });

  it('decodes values with ini: comments, escapes and quotes', () => {
    const { sections, messages } = scan([
      '[x]',
      'a = one # comment',
      'b = semi\\;colon and hash\\#',
      'c = "keeps ; and # inside"  ; comment after',
      'd = "  padded  "',
      'e = a=b',
      'f = ',
    ].join('\n'));
    assert.deepEqual(messages, []);
    const keys = sections[0]?.keys;
    assert.equal(keys?.get('a')?.value, 'one');
    assert.equal(keys?.get('b')?.value, 'semi;colon and hash#');
    assert.equal(keys?.get('c')?.value, 'keeps ; and # inside');
    assert.equal(keys?.get('d')?.value, '  padded  ');
    assert.equal(keys?.get('e')?.value, 'a=b');
    assert.equal(keys?.get('f')?.value, '');
  });

  it('reports duplicate sections and keys with the first line', () => {
    const { messages } = scan('[vip "lan"]\nvhid = 1\nvhid = 2\n[vip "lan"]\nvhid = 3\n');
    assert.deepEqual(messages, [
      'x.ini:3: [vip "lan"] vhid: duplicate key (first set at line 2)',
      'x.ini:4: [vip "lan"]: duplicate section (first defined at line 1)',
    ]);
  });

  it('reports malformed lines, all of them', () => {
    const { messages } = scan('orphan = 1\n[node fw1]\n[ok]\njust text\nbad key = 1\nq = "open\nr = "x" trailing\n[a] junk\n');
    assert.equal(messages.length, 7);
    assert.match(messages[0] ?? '', /^x\.ini:1: orphan: key outside of any section$/);
    assert.match(messages[1] ?? '', /^x\.ini:2: malformed section header \[node fw1\] \(allowed: \[type\] or \[type "name"\]\)$/);
    assert.match(messages[2] ?? '', /^x\.ini:4: \[ok\]: expected "key = value"/);
    assert.match(messages[3] ?? '', /^x\.ini:5: \[ok\]: bad key name "bad key"/);
    assert.match(messages[4] ?? '', /^x\.ini:6: \[ok\] q: unterminated quoted value/);
    assert.match(messages[5] ?? '', /^x\.ini:7: \[ok\] r: unexpected text after quoted value/);
    assert.match(messages[6] ?? '', /^x\.ini:8: malformed section header/);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    const { sections, messages } = scan('\uFEFF[cluster]\r\nname = office\r\n');
    assert.deepEqual(messages, []);
    assert.equal(sections[0]?.keys.get('name')?.value, 'office');
  });
});

describe('config errors', () => {
  it('formats file:line, section, key, message and what is allowed', () => {
    assert.equal(
      formatProblem({ file: '/etc/carpenter/site.ini', line: 14, section: '[vip "lan"]', key: 'vhid', message: '300 is out of range', allowed: '1-255' }),
      'site.ini:14: [vip "lan"] vhid: 300 is out of range (allowed: 1-255)',
    );
    assert.equal(formatProblem({ file: 'site.ini', line: 3, section: '[node "fw2"]', message: 'has no LAN address' }), 'site.ini:3: [node "fw2"]: has no LAN address');
    assert.equal(formatProblem({ file: 'site.ini', line: 1, message: 'missing [cluster] section' }), 'site.ini:1: missing [cluster] section');
  });

  it('aggregates errors sorted by line, keeping the fields', () => {
    const list = new ErrorList();
    list.add({ file: 's.ini', line: 9, section: '[a]', key: 'k', message: 'late', allowed: 'x' });
    list.add({ file: 's.ini', line: 2, message: 'early' });
    assert.throws(
      () => list.throwIfAny(),
      (e: unknown) => {
        assert.ok(e instanceof ConfigErrors);
        assert.equal(e.errors.length, 2);
        assert.equal(e.message, 's.ini:2: early\ns.ini:9: [a] k: late (allowed: x)');
        const late = e.errors[1];
        assert.ok(late instanceof ConfigError);
        assert.equal(late.line, 9);
        assert.equal(late.section, '[a]');
        assert.equal(late.key, 'k');
        assert.equal(late.detail, 'late');
        assert.equal(late.allowed, 'x');
        return true;
      },
    );
  });
});
