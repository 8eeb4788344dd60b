/**
 * carpd's election plan: what the site file makes of each VIP on each node.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite } from '../../src/config/index.js';
import { electionConfig, macvlanName, planKey, planVips } from '../../src/agent/carp/plan.js';

const EXAMPLE = readFileSync(new URL('../../../build/sites/ha-pair.ini', import.meta.url), 'utf8');

describe('carp plan', () => {
  const site = parseSite(EXAMPLE, 'ha-pair.ini');

  it('CARP over IPv4: own address as source, the other node as peer, skew with the node offset', () => {
    const [fw1, fw2] = [planVips(site, 'fw1'), planVips(site, 'fw2')];
    const wan1 = fw1.find((v) => v.name === 'wan');
    const wan2 = fw2.find((v) => v.name === 'wan');
    assert.deepEqual(
      { iface: wan1?.interface, address: wan1?.address, prefix: wan1?.prefix, vmac: wan1?.vmac, macvlan: wan1?.macvlan, source: wan1?.source, peers: wan1?.peers },
      { iface: 'WAN', address: '203.0.113.10', prefix: 24, vmac: '00:00:5e:00:01:31', macvlan: 'WAN-vh49', source: '203.0.113.2', peers: ['203.0.113.3'] },
    );
    assert.equal(wan1?.skew, 0);
    assert.equal(wan2?.skew, 100);
    assert.equal(wan2?.source, '203.0.113.3');
    const cfg = electionConfig(wan2!, wan2!.source);
    assert.equal(cfg.protocol, 'carp');
    if (cfg.protocol === 'carp') {
      assert.deepEqual([cfg.advbase, cfg.advskew, cfg.password, cfg.preempt], [1, 100, 'change-me', true]);
      assert.deepEqual(cfg.sources, { 4: '203.0.113.3' });
      assert.deepEqual(cfg.peers, ['203.0.113.2']);
      assert.equal(cfg.unicastPeers, undefined);
    }
  });

  it('VRRPv3 over IPv6: link-local source found at run time, no peer check, priority 254 - skew, interval in cs', () => {
    const lan6 = planVips(site, 'fw2').find((v) => v.name === 'lan6');
    assert.equal(lan6?.source, 'link-local');
    assert.equal(lan6?.checkPeers, false);
    assert.equal(lan6?.vmac, '00:00:5e:00:02:02');
    const cfg = electionConfig(lan6!, 'fe80::3');
    assert.equal(cfg.protocol, 'vrrp3');
    if (cfg.protocol === 'vrrp3') {
      assert.deepEqual([cfg.priority, cfg.interval, cfg.family], [154, 20, 6]);
      assert.deepEqual(cfg.sources, { 6: 'fe80::3' });
      assert.equal(cfg.peers, undefined);
    }
  });

  it('unicast = yes: adverts to the other nodes, own global address as source (also for VRRPv3 over IPv6)', () => {
    const text = EXAMPLE.replace('interval_ms = 200', 'interval_ms = 200\nunicast = yes');
    const lan6 = planVips(parseSite(text, 'u.ini'), 'fw1').find((v) => v.name === 'lan6');
    assert.equal(lan6?.unicast, true);
    assert.equal(lan6?.source, '2001:db8:0:2::2');
    const cfg = electionConfig(lan6!, lan6!.source);
    assert.deepEqual(cfg.unicastPeers, ['2001:db8:0:2::3']);
    assert.deepEqual(cfg.peers, ['2001:db8:0:2::3']);
  });

  it('preempt comes from [cluster]; the key changes with anything that matters', () => {
    const off = parseSite(EXAMPLE.replace('preempt = yes', 'preempt = no'), 'p.ini');
    assert.equal(planVips(off, 'fw1')[0]?.election.preempt, false);
    const a = planVips(site, 'fw1').find((v) => v.name === 'lan')!;
    const b = planVips(parseSite(EXAMPLE.replace('vhid = 1\npassword = change-me', 'vhid = 1\npassword = changed'), 'c.ini'), 'fw1').find((v) => v.name === 'lan')!;
    assert.notEqual(planKey(a), planKey(b));
    assert.equal(planKey(a), planKey(planVips(site, 'fw1').find((v) => v.name === 'lan')!));
  });

  it('macvlan names fit the kernel limit', () => {
    assert.equal(macvlanName('OPT12', 255), 'OPT12-vh255');
    assert.throws(() => macvlanName('VERYLONGNAME', 255), /longer than 15/);
  });
});
