/**
 * The two site keys config sync added to src/config, and that they are
 * backward compatible: sites without them parse and serialise exactly as before.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite, siteToIni } from '../../src/config/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const FP = 'EA:AC:FC:8A:A7:B3:0F:DD:B7:49:7D:94:C3:7D:76:D1:90:9C:B7:87:8F:B4:A2:5A:0D:6A:03:ED:C1:4F:6C:06';

describe('[sync] tofu and [node] fingerprint', () => {
  it('are absent from sites that do not set them, and from their canonical form', () => {
    const site = parseSite(EXAMPLE, 'ha-pair.ini');
    assert.equal(site.sync.tofu, undefined);
    assert.ok(site.nodes.every((n) => n.fingerprint === undefined));
    assert.doesNotMatch(siteToIni(site), /tofu|fingerprint/);
  });

  it('read tofu = no (only "no" is stored: absent means yes) and round-trip', () => {
    const off = parseSite(EXAMPLE.replace('password = change-me-too', 'password = change-me-too\ntofu = no'), 'off.ini');
    assert.equal(off.sync.tofu, false);
    assert.match(siteToIni(off), /\[sync\][^[]*tofu = no/);
    assert.deepStrictEqual(parseSite(siteToIni(off), 'rt.ini'), off);
    const on = parseSite(EXAMPLE.replace('password = change-me-too', 'password = change-me-too\ntofu = yes'), 'on.ini');
    assert.equal(on.sync.tofu, undefined);
  });

  it('read a fingerprint in any common spelling, store it canonically, round-trip', () => {
    const lower = FP.toLowerCase().replace(/:/g, '');
    const site = parseSite(EXAMPLE.replace('role = secondary', `role = secondary\nfingerprint = SHA256:${lower}`), 'fp.ini');
    assert.equal(site.nodes.find((n) => n.name === 'fw2')?.fingerprint, FP);
    assert.match(siteToIni(site), new RegExp(`\\[node "fw2"\\]\\nrole = secondary\\nfingerprint = ${FP}`));
    assert.deepStrictEqual(parseSite(siteToIni(site), 'rt.ini'), site);
  });

  it('refuse a malformed fingerprint and a non-boolean tofu with file:line', () => {
    assert.throws(() => parseSite(EXAMPLE.replace('role = secondary', 'role = secondary\nfingerprint = AB:CD'), 'bad.ini'), /bad\.ini:\d+: \[node "fw2"\] fingerprint: "AB:CD..." is not a SHA-256 fingerprint/);
    assert.throws(() => parseSite(EXAMPLE.replace('password = change-me-too', 'password = change-me-too\ntofu = maybe'), 'bad.ini'), /\[sync\] tofu: "maybe" is not a yes\/no value/);
  });
});
