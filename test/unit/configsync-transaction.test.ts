/** All or nothing across services, with fake services that record what happened to them. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite, type Site } from '../../src/config/index.js';
import { applyAtomically, describeFailure, type ServiceUnit } from '../../src/agent/configsync/index.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');
const OLD = parseSite(EXAMPLE, 'old.ini');
const NEW = parseSite(EXAMPLE.replace('members = 80, 443, 8080-8081', 'members = 80'), 'new.ini');

/** A service whose config is the web_ports members; `active` is what it runs. */
function fake(name: string, log: string[], fail: { render?: boolean; check?: boolean; apply?: boolean; revert?: boolean } = {}, key?: (s: Site) => string): ServiceUnit & { active: string } {
  const unit = {
    name,
    active: 'initial',
    prepare(site: Site) {
      const config = key?.(site) ?? (site.aliases.find((a) => a.name === 'web_ports')?.members.join(',') ?? '');
      if (fail.render && site === NEW) throw new Error(`${name}: cannot render`);
      return {
        key: config,
        check: async () => {
          log.push(`${name} check ${config}`);
          if (fail.check && site === NEW) throw new Error(`${name}: check refused line 3`);
        },
        apply: async () => {
          log.push(`${name} apply ${config}`);
          if (fail.apply && site === NEW) throw new Error(`${name}: apply refused`);
          if (fail.revert && site === OLD) throw new Error(`${name}: revert refused`);
          unit.active = config;
        },
      };
    },
  };
  return unit;
}

describe('applying a config to every service atomically', () => {
  it('checks all, then applies all, then commits', async () => {
    const log: string[] = [];
    const [a, b] = [fake('firewall', log), fake('dhcp', log)];
    const r = await applyAtomically([a, b], NEW, OLD, async () => void log.push('commit'));
    assert.deepEqual(r, { ok: true, applied: ['firewall', 'dhcp'], unchanged: [] });
    assert.deepEqual(log, ['firewall check 80', 'dhcp check 80', 'firewall apply 80', 'dhcp apply 80', 'commit']);
  });

  it('a refused check changes nothing', async () => {
    const log: string[] = [];
    const [a, b] = [fake('firewall', log), fake('dhcp', log, { check: true })];
    const r = await applyAtomically([a, b], NEW, OLD, async () => void log.push('commit'));
    assert.ok(!r.ok);
    assert.equal(r.stage, 'check');
    assert.equal(describeFailure(r), 'dhcp failed at check:\ndhcp: check refused line 3\nnothing was changed');
    assert.ok(!log.some((l) => l.includes('apply') || l === 'commit'));
  });

  it('a failed apply switches the units already applied back, newest first, and does not commit', async () => {
    const log: string[] = [];
    const units = [fake('firewall', log), fake('election', log), fake('dhcp', log, { apply: true })];
    const r = await applyAtomically(units, NEW, OLD, async () => void log.push('commit'));
    assert.ok(!r.ok);
    assert.equal(r.stage, 'apply');
    assert.deepEqual(r.reverted, ['election', 'firewall']);
    assert.deepEqual(units.map((u) => u.active), ['80,443,8080-8081', '80,443,8080-8081', 'initial']);
    assert.ok(!log.includes('commit'));
    assert.match(describeFailure(r), /rolled back: election, firewall \(previous config active again\)/);
  });

  it('a failed commit reverts every unit', async () => {
    const log: string[] = [];
    const units = [fake('firewall', log)];
    const r = await applyAtomically(units, NEW, OLD, async () => {
      throw new Error('disk full');
    });
    assert.ok(!r.ok);
    assert.equal(r.stage, 'commit');
    assert.deepEqual(r.reverted, ['firewall']);
    assert.equal(units[0]?.active, '80,443,8080-8081');
  });

  it('says when a revert failed, so the node is flagged for attention', async () => {
    const log: string[] = [];
    const r = await applyAtomically([fake('firewall', log, { revert: true }), fake('dhcp', log, { apply: true })], NEW, OLD);
    assert.ok(!r.ok);
    assert.deepEqual(r.revertErrors, ['firewall: firewall: revert refused']);
    assert.match(describeFailure(r), /ROLLBACK INCOMPLETE/);
  });

  it('a render failure stops before anything runs', async () => {
    const log: string[] = [];
    const r = await applyAtomically([fake('firewall', log, { render: true })], NEW, OLD);
    assert.ok(!r.ok && r.stage === 'render');
    assert.deepEqual(log, []);
  });

  it('skips services whose rendered config did not change', async () => {
    const log: string[] = [];
    const r = await applyAtomically([fake('firewall', log), fake('dns', log, {}, (s) => s.dns.map((d) => d.forwarders.join()).join())], NEW, OLD);
    assert.deepEqual(r, { ok: true, applied: ['firewall'], unchanged: ['dns'] });
  });

  it('applies everything when there is no previous config (start)', async () => {
    const log: string[] = [];
    const r = await applyAtomically([fake('firewall', log)], OLD, undefined);
    assert.deepEqual(r, { ok: true, applied: ['firewall'], unchanged: [] });
  });
});

describe('the election as a service', () => {
  it('is reconfigured when VIPs change, left alone when only policy changes', async () => {
    const { electionUnit } = await import('../../src/agent/configsync/index.js');
    const calls: Site[] = [];
    const unit = electionUnit({ running: true, reconfigure: async (s) => void calls.push(s) });
    assert.deepEqual(await applyAtomically([unit], NEW, OLD), { ok: true, applied: [], unchanged: ['election'] });
    const skewed = parseSite(EXAMPLE.replace('advskew = 0\npassword = change-me', 'advskew = 5\npassword = change-me'), 'skew.ini');
    assert.deepEqual(await applyAtomically([unit], skewed, OLD), { ok: true, applied: ['election'], unchanged: [] });
    assert.equal(calls[0], skewed);
  });
});
