/**
 * Config sync between two namespaces, for real (root only): the runner on
 * fw1 and fw2 (SYNC 172.16.1.1 / .2 from build/sites/ha-pair.ini), HTTPS
 * with basic auth and a pinned certificate, each node's firewall loaded
 * with the real nft.
 *
 *   - a new alias and rule applied on the primary (with the CLI) shows up
 *     in the secondary's config AND is active in its nft table; timed;
 *   - trust on first use is logged with the fingerprint fw2 reports;
 *   - history (who/when/from), diff; drift on the secondary is flagged on
 *     both nodes and replaced by the next sync;
 *   - a bad change rolled back on the primary is rolled back on both;
 *   - a change made while fw2 is down reaches it once it is back (fw1 retries).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rigSkipReason, waitUntil, withRig } from './netns.js';
import { EXAMPLE_SITE, syncPair, withRulesBefore } from './configsync-rig.js';

const skip = rigSkipReason();

const BLOCKLIST = `[alias "blocklist"]
type = host
members = 198.51.100.66, 198.51.100.67

[rule "block-listed"]
interface = WAN
action = block
source = blocklist
description = added on fw1`;

describe('config sync: primary to secondary', { skip: skip ?? false }, () => {
  test('a rule and alias added on the primary are active in nft on the secondary; history, diff, drift, rollback', async (t) => {
    await withRig('cs-sync', async (rig) => {
      const { fw1, fw2 } = await syncPair(rig);

      // Trust on first use, logged with the fingerprint fw2 itself reports.
      const fp = (await fw2.status()).endpoint.fingerprint;
      assert.ok(fp);
      assert.match(fw1.proc.output, new RegExp(`trusting fw2's certificate on first use: ${fp}`));
      assert.deepEqual((await fw2.status()).endpoint.listening, ['172.16.1.2:8443']);

      // Both run the example's firewall.
      assert.doesNotMatch(await fw2.nft(), /198\.51\.100\.66/);
      const before = (await fw2.status()).revision;

      // The admin applies a change on the primary with the CLI.
      const changed = withRulesBefore(EXAMPLE_SITE, BLOCKLIST);
      const file = fw1.writeSite('change.ini', changed);
      const t0 = performance.now();
      const out = await fw1.cli(['config', 'apply', file]);
      const answered = performance.now() - t0;
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /^config applied: revision 2\n  fw2: synced, its revision \d+, active there [\d.]+ ms after the commit$/);
      const latency = Number(/active there ([\d.]+) ms/.exec(out.stdout)?.[1]);

      // On fw2: in its config, and active in its kernel's ruleset.
      const rules = await fw2.nft();
      assert.match(rules, /set blocklist-v4 \{[^}]*elements = \{ 198\.51\.100\.66, 198\.51\.100\.67 \}/s);
      assert.match(rules, /ip saddr @blocklist-v4 counter drop comment "rule block-listed: added on fw1"/);
      assert.match(await fw2.configText(), /\[rule "block-listed"\]\ninterface = WAN\naction = block/);
      const s2 = await fw2.status();
      assert.equal(s2.revision, before + 1);
      assert.equal(s2.received?.from, 'fw1');
      assert.equal(s2.received?.peerRevision, 2);
      assert.equal(s2.drift.detected, false);
      // fw1's own copy of the rule, with fw1's addresses (self set), is active on fw1 too.
      assert.match(await fw1.nft(), /ip saddr @blocklist-v4 counter drop/);
      t.diagnostic(`change on fw1 active in fw2's nft ${latency} ms after the commit (CLI round trip ${answered.toFixed(0)} ms)`);

      // fw1's status: the peer, its revisions, no error.
      const peer = (await fw1.status()).peers[0];
      assert.equal(peer?.node, 'fw2');
      assert.equal(peer?.syncedRevision, 2);
      assert.equal(peer?.peerRevision, s2.revision);
      assert.equal(peer?.lastError, undefined);
      const statusText = (await fw1.cli(['sync', 'status'])).stdout;
      assert.match(statusText, /peer fw2 \(172\.16\.1\.2\): last sync \d+s ago: revision 2 here -> \d+ there, carpd /);

      // History on fw2 says who, when and from where; diff shows the change.
      const hist = (await fw2.cli(['config', 'history'])).stdout;
      assert.match(hist, new RegExp(`\\* +${s2.revision}  \\S+  root +fw1 \\(172\\.16\\.1\\.1\\) revision 2  \\(config sync: rules, nat, aliases, vips, dhcp, dns, users, routes\\)`));
      const diff = await fw2.cli(['config', 'diff', String(before)]);
      assert.equal(diff.code, 0);
      assert.match(diff.stdout, /\n\+\[alias "blocklist"\]\n\+type = host\n\+members = 198\.51\.100\.66, 198\.51\.100\.67\n/);

      // Drift: someone edits a synced area on fw2 directly.
      const local = (await fw2.configText()).replace('[rule "wan-default"]\ninterface = WAN\naction = block', '[rule "wan-default"]\ninterface = WAN\naction = pass');
      const edit = await fw2.applyText(local, { by: 'someone' });
      assert.ok(edit.ok, JSON.stringify(edit));
      assert.deepEqual((await fw2.status()).drift, { detected: true, areas: ['rules'] });
      assert.match((await fw2.cli(['sync', 'status'])).stdout, /DRIFT: rules edited on this node since the last sync/);
      assert.ok((await fw1.call({ cmd: 'sync.refresh' })).ok);
      assert.deepEqual((await fw1.status()).peers[0]?.drift, ['rules']);
      assert.match((await fw1.cli(['sync', 'status'])).stdout, /DRIFT on fw2: rules/);
      // ... and the next sync replaces it.
      const resync = await fw1.cli(['sync', 'push']);
      assert.equal(resync.code, 0, resync.stderr);
      assert.deepEqual((await fw2.status()).drift, { detected: false, areas: [] });
      assert.match(await fw2.nft(), /counter drop comment "default deny on WAN"/);
      assert.doesNotMatch(await fw2.configText(), /\[rule "wan-default"\]\ninterface = WAN\naction = pass/);

      // A bad change (the LAN loses its way out) goes to both nodes ...
      const bad = changed.replace('[rule "lan-out"]\ninterface = LAN\naction = pass', '[rule "lan-out"]\ninterface = LAN\naction = block');
      const badOut = await fw1.applyText(bad);
      assert.ok(badOut.ok && badOut.synced === true, JSON.stringify(badOut));
      for (const fw of [fw1, fw2]) assert.match(await fw.nft(), /ip saddr @inside-v4 counter drop comment "rule lan-out/);
      // ... and its rollback on the primary restores both.
      const back = await fw1.cli(['config', 'rollback', '2']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(back.stdout, /^config applied: revision 4\n  fw2: synced/);
      for (const fw of [fw1, fw2]) {
        const nft = await fw.nft();
        assert.match(nft, /ip saddr @inside-v4 counter accept comment "rule lan-out/, fw.node);
        assert.match(nft, /ip saddr @blocklist-v4 counter drop/, fw.node);
      }
      assert.match((await fw1.cli(['config', 'history'])).stdout, /\* +4 .* admin|\* +4 .*rollback to revision 2/);

      // fw2 is down during a change: fw1 keeps trying, backing off, until fw2 takes it.
      await fw2.stop();
      const whileDown = await fw1.applyText(changed.replace('198.51.100.67', '198.51.100.68'));
      assert.ok(whileDown.ok && whileDown.synced === false);
      assert.match((whileDown.peers as { error?: string }[])[0]?.error ?? '', /fw2 \(172\.16\.1\.2:8443\) unreachable: connect ECONNREFUSED 172\.16\.1\.2:8443/);
      assert.match(fw1.proc.output, /config sync failed peer=fw2 revision=5 reason=.* retryInSec=5/);
      await fw2.start();
      // fw2 loads the ruleset before it answers: wait for fw1 to have the answer too.
      await waitUntil(async () => (await fw1.status()).peers[0]?.syncedRevision === 5, { timeoutMs: 60_000, intervalMs: 200, what: 'fw1 to retry the push once fw2 is back' });
      assert.match(await fw2.nft(), /198\.51\.100\.68/);
      assert.equal((await fw1.status()).peers[0]?.lastError, undefined);
      assert.ok(fw1.proc.running && fw2.proc.running);
    });
  });
});
