/**
 * nft text helpers and nft's error messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr } from '../../src/config/net.js';
import { collapseCidrs, collapsePorts, parseNftErrors, quote } from '../../src/agent/firewall/index.js';
import { formatCidrs } from '../../src/agent/firewall/nft.js';

describe('nft helpers', () => {
  it('merges overlapping and adjacent port ranges', () => {
    assert.deepEqual(collapsePorts(['443', '80', '8000-8080', '8081', '79', '8050-8100']), ['79-80', '443', '8000-8100']);
    assert.deepEqual(collapsePorts(['22']), ['22']);
    assert.throws(() => collapsePorts(['http']), /not a port/);
  });

  it('drops networks contained in others and sorts by family and address', () => {
    const c = ['192.168.1.0/24', '10.0.0.1/32', '192.168.0.0/16', '2001:db8::/32', '2001:db8:1::1/128', '10.0.0.0/31'].map(parseCidr);
    assert.deepEqual(formatCidrs(c), ['10.0.0.0/31', '192.168.0.0/16', '2001:db8::/32']);
    assert.equal(collapseCidrs([]).length, 0);
  });

  it('quotes safely', () => {
    assert.equal(quote('a "b"\nc'), '"a \'b\' c"');
    assert.equal(quote('x'.repeat(300)).length, 129);
  });
});

describe('parseNftErrors', () => {
  it('reads line, column, message and the source line nft echoes', () => {
    const stderr = [
      '/dev/stdin:4:23-23: Error: syntax error, unexpected newline',
      '    tcp dport 22 acept',
      '                      ^',
    ].join('\n');
    assert.deepEqual(parseNftErrors(stderr), [{ line: 4, column: 23, message: 'syntax error, unexpected newline', text: 'tcp dport 22 acept' }]);
  });

  it('reads kernel errors and several errors', () => {
    const stderr = [
      '/dev/stdin:4:22-28: Error: Could not process rule: No such file or directory',
      '    iifname "x" jump nochain',
      '                     ^^^^^^^',
      '/dev/stdin:9:1-5: Error: syntax error, unexpected junk',
      'junk',
      '^^^^^',
    ].join('\n');
    const errors = parseNftErrors(stderr);
    assert.deepEqual(errors.map((e) => [e.line, e.message]), [
      [4, 'Could not process rule: No such file or directory'],
      [9, 'syntax error, unexpected junk'],
    ]);
  });

  it('keeps messages without a location', () => {
    assert.deepEqual(parseNftErrors('netlink: Error: cache initialization failed: Operation not permitted'), [{ message: 'cache initialization failed: Operation not permitted' }]);
    assert.deepEqual(parseNftErrors('something odd'), [{ message: 'something odd' }]);
  });
});
