/**
 * Pushes the secondary must refuse (root only). Each leaves fw2 running on
 * its previous config (site revision and nft table unchanged) while fw1,
 * which applied the change itself, reports fw2's exact error.
 *
 *   - nft refuses the new ruleset on fw2 only. Both namespaces share one
 *     kernel and one nft, and the renderer never writes a ruleset that only
 *     one node's kernel rejects, so fw2's firewall runs the real nft through
 *     a wrapper that, for a ruleset naming the rule "refuse-on-fw2", adds a
 *     line the kernel really refuses; it stands for a node whose firmware
 *     or kernel lacks what the primary has. The check (nft -c) passes and
 *     the load (nft -f) fails, the hardest case: the kernel transaction
 *     must leave the old ruleset in place.
 *   - the merge does not validate on fw2: fw1's copy of the site gives both
 *     nodes an OPT1 port, fw2's own copy does not, and a rule on OPT1 arrives.
 *   - fw2 runs another carpd version: refused with both versions named;
 *     `sync push --force` applies it, and both nodes say it was forced.
 *   - fw1's site pins another certificate for fw2: fw1 refuses it right after
 *     the TLS handshake, so no request (and no password) reaches fw2.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rigSkipReason, withRig } from './netns.js';
import { EXAMPLE_SITE, syncPair, withRulesBefore } from './configsync-rig.js';

const skip = rigSkipReason();

const REFUSED_RULE = `[rule "refuse-on-fw2"]
interface = WAN
action = pass
protocol = tcp
port = 2222`;

const DMZ_RULE = `[rule "dmz"]
interface = OPT1
action = pass`;

/** fw1's copy: both nodes have an OPT1 port. */
const SITE_WITH_OPT1 = EXAMPLE_SITE.replace('SYNC = 172.16.1.1/30', 'SYNC = 172.16.1.1/30\nOPT1 = 10.0.0.1/24').replace('SYNC = 172.16.1.2/30', 'SYNC = 172.16.1.2/30\nOPT1 = 10.0.0.2/24');

function nftWrapper(realNft: string): string {
  return `#!/bin/sh
# Fault injection for the rig: a node whose kernel refuses the rule "refuse-on-fw2".
# The real nft runs; for a load (-f -, not the -c check) of a ruleset naming
# that rule, one line the kernel rejects is appended, so the load fails as one
# transaction, with the kernel's own error.
if [ "$1" = "-f" ] && [ "$2" = "-" ]; then
  input=$(cat)
  case "$input" in
    *refuse-on-fw2*) input="$input
add rule inet carpenter no_such_chain counter accept" ;;
  esac
  printf '%s\\n' "$input" | ${realNft} "$@"
  exit $?
fi
exec ${realNft} "$@"
`;
}

describe('config sync: pushes the secondary refuses', { skip: skip ?? false }, () => {
  test('nft refusing on fw2, a merge invalid on fw2, another carpd version, a wrong pin: fw2 unchanged and running, fw1 reports the error', async (t) => {
    await withRig('cs-refuse', async (rig) => {
      const realNft = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
      const wrapper = join(rig.dir, 'nft-refusing');
      writeFileSync(wrapper, nftWrapper(realNft), { mode: 0o755 });
      const { fw1, fw2 } = await syncPair(rig, { site1: SITE_WITH_OPT1, fw2: { nft: wrapper } });
      const baseline = { nft: await fw2.nft(), revision: (await fw2.status()).revision, text: await fw2.configText() };
      const unchanged = async (what: string) => {
        assert.ok(fw2.proc.running, `${what}: fw2 still runs`);
        assert.equal((await fw2.status()).revision, baseline.revision, `${what}: fw2's revision`);
        assert.equal(await fw2.configText(), baseline.text, `${what}: fw2's config`);
        assert.equal(await fw2.nft(), baseline.nft, `${what}: fw2's nft table`);
      };

      // 1. nft refuses the ruleset on fw2 only.
      const refused = await fw1.cli(['config', 'apply', fw1.writeSite('refused.ini', withRulesBefore(SITE_WITH_OPT1, REFUSED_RULE))]);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stdout, /^config applied: revision 2\n/);
      assert.match(refused.stdout, /fw2: NOT SYNCED: fw2 \(172\.16\.1\.2:8443\) refused: fw2 could not apply fw1's revision 2 and stays on its revision 1: firewall failed at apply:/);
      assert.match(refused.stdout, /nftables ruleset of fw2:\d+:\d+-\d+: Error: Could not process rule: No such file or directory/);
      assert.match(refused.stderr, /applied here, but not on every peer/);
      assert.match(await fw1.nft(), /tcp dport 2222 counter accept comment "rule refuse-on-fw2"/, 'fw1 runs the change');
      await unchanged('nft refusal');
      const peer = (await fw1.status()).peers[0];
      assert.match(peer?.lastError ?? '', /Could not process rule/);
      assert.match((await fw1.cli(['sync', 'status'])).stdout, /LAST ERROR \d+s ago: fw2 \(172\.16\.1\.2:8443\) refused: fw2 could not apply/);
      t.diagnostic(`fw1 reported: ${refused.stdout.split('\n').slice(1, 4).join(' | ')}`);

      // Back to revision 1 on fw1: fw2 already has it (nothing to change there).
      const back = await fw1.call({ cmd: 'config.rollback', revision: 1, by: 'admin' });
      assert.ok(back.ok && back.synced === true, JSON.stringify(back));
      await unchanged('after rollback');

      // 2. A merge that does not validate on fw2 (no OPT1 there).
      const dmz = await fw1.applyText(withRulesBefore(SITE_WITH_OPT1, DMZ_RULE));
      assert.ok(dmz.ok, 'fw1 itself accepts the rule');
      assert.equal(dmz.synced, false);
      const dmzError = (dmz.peers as { error?: string }[])[0]?.error ?? '';
      assert.match(dmzError, /fw1's revision 4 does not validate on fw2; nothing was changed:\n\[rule "dmz"\] interface: interface OPT1 is not defined on any node \(allowed: WAN, LAN, SYNC\)/);
      await unchanged('invalid merge');
      assert.ok((await fw1.call({ cmd: 'config.rollback', revision: 1 })).ok);

      // 3. fw2 runs another carpd version.
      await fw2.restart({ nft: wrapper, env: { CARPD_BUILD_VERSION: '0.0.1-old' } });
      const mine = (await fw1.status()).carpdVersion;
      const blocked = withRulesBefore(SITE_WITH_OPT1, '[alias "newcomers"]\ntype = host\nmembers = 198.51.100.99');
      const v = await fw1.applyText(blocked);
      assert.ok(v.ok);
      const vError = (v.peers as { error?: string }[])[0]?.error ?? '';
      assert.equal(vError, `fw2 (172.16.1.2:8443) refused: fw2 runs carpd 0.0.1-old, fw1 runs carpd ${mine}: refusing the push, mismatched versions can misread the config. Update fw2 to ${mine}, or push with --force to apply anyway.`);
      await unchanged('version mismatch');
      const forced = await fw1.cli(['sync', 'push', '--force']);
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.match(forced.stdout, /fw2: synced, its revision \d+/);
      assert.match(await fw2.nft(), /198\.51\.100\.99/);
      assert.equal((await fw2.status()).received?.forced, true);
      assert.match((await fw2.cli(['sync', 'status'])).stdout, /FORCED past a version mismatch/);
      assert.match((await fw1.cli(['sync', 'status'])).stdout, new RegExp(`warning: fw2 runs carpd 0\\.0\\.1-old, fw1 runs carpd ${mine.replace(/\./g, '\\.')}: applied because the push was forced`));

      // 4. fw1's site pins another certificate for fw2: fw1 hangs up after the handshake, before sending anything.
      const fp = (await fw2.status()).endpoint.fingerprint ?? '';
      const wrongFp = `${fp.startsWith('00') ? '11' : '00'}${fp.slice(2)}`;
      const pinning = (fingerprint: string) => blocked.replace('role = secondary', `role = secondary\nfingerprint = ${fingerprint}`);
      const requestsBefore = (await fw2.status()).endpoint.stats?.requests;
      const wrong = await fw1.applyText(pinning(wrongFp), { force: true });
      assert.ok(wrong.ok);
      assert.match((wrong.peers as { error?: string }[])[0]?.error ?? '', new RegExp(`fw2's certificate ${fp} is not the one the site pins \\(\\[node "fw2"\\] fingerprint = ${wrongFp}\\)`));
      assert.equal((await fw2.status()).endpoint.stats?.requests, requestsBefore, 'no HTTP request (and no password) reached fw2');
      const right = await fw1.applyText(pinning(fp), { force: true });
      assert.ok(right.ok && right.synced === true, JSON.stringify(right));
    });
  });
});
