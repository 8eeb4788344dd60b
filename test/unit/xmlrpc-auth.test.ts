/** Basic auth parsing and the failed-login brake, on a fake clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter, basicAuthHeader, credentialsMatch, parseBasicAuth } from '../../src/agent/xmlrpc/index.js';

describe('basic auth', () => {
  it('parses what it writes, passwords with colons included', () => {
    const c = { user: 'admin', password: 'a:b:ç' };
    assert.deepEqual(parseBasicAuth(basicAuthHeader(c)), c);
    assert.deepEqual(parseBasicAuth('basic YWRtaW46'), { user: 'admin', password: '' });
  });

  it('refuses other schemes and garbage', () => {
    for (const h of [undefined, '', 'Bearer abc', 'Basic', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Basic ${'A'.repeat(2000)}`]) {
      assert.equal(parseBasicAuth(h), undefined, String(h));
    }
  });

  it('compares user and password exactly', () => {
    const right = { user: 'admin', password: 'pw' };
    assert.ok(credentialsMatch({ user: 'admin', password: 'pw' }, right));
    assert.ok(!credentialsMatch({ user: 'admin', password: 'pw ' }, right));
    assert.ok(!credentialsMatch({ user: 'Admin', password: 'pw' }, right));
    assert.ok(!credentialsMatch({ user: 'admin', password: '' }, right));
  });
});

describe('failed-login brake', () => {
  it('allows a burst of wrong passwords, then 429s until a token grows back', () => {
    const l = new FailureLimiter({ burst: 3, refillPerMinute: 6 }); // one token per 10 s
    let now = 1_000_000;
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(l.check('172.16.1.1', now), { ok: true });
      l.failed('172.16.1.1', now);
    }
    assert.deepEqual(l.check('172.16.1.1', now), { ok: false, retryAfterSec: 10 });
    now += 4_000;
    assert.deepEqual(l.check('172.16.1.1', now), { ok: false, retryAfterSec: 6 });
    assert.deepEqual(l.check('172.16.1.9', now), { ok: true }, 'other sources are not affected');
    now += 6_000;
    assert.deepEqual(l.check('172.16.1.1', now), { ok: true });
    l.failed('172.16.1.1', now);
    assert.equal(l.check('172.16.1.1', now).ok, false);
  });

  it('forgets a source after a right password', () => {
    const l = new FailureLimiter({ burst: 2 });
    l.failed('a', 0);
    l.failed('a', 0);
    assert.equal(l.check('a', 0).ok, false);
    l.succeeded('a');
    assert.equal(l.check('a', 0).ok, true);
  });

  it('remembers a bounded number of sources', () => {
    const l = new FailureLimiter({ burst: 1, maxSources: 10 });
    for (let i = 0; i < 100; i++) l.failed(`10.0.0.${i}`, 0);
    assert.equal(l.check('10.0.0.99', 0).ok, false, 'the most recent is remembered');
    assert.equal(l.check('10.0.0.0', 0).ok, true, 'the oldest was forgotten');
  });
});
