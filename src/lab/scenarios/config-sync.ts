import { carpdSummary } from '../status.js';
import type { ScenarioRun } from './common.js';

/**
 * config-sync: the admin changes the primary only (pfSense's workflow). An
 * alias and a WAN block rule are added with `carpd config apply` on the
 * primary; the scenario times until the rule is loaded in the secondary's
 * nftables, checks both nodes' carpd agree on the revision, then rolls the
 * change back on the primary and sees the rollback reach the secondary too.
 */
export const configSync = {
  name: 'config-sync',
  description: 'a rule added on the primary is active in the secondary\'s nftables; a rollback on the primary undoes it on both',
  async run(s: ScenarioRun): Promise<void> {
    if (!(await s.startSettled('the config change'))) return;
    const fw1 = await s.lab.vm(s.primary);
    const fw2 = await s.lab.vm(s.secondary);
    // A documentation address (RFC 5737) no site uses, unique per run.
    const marker = `198.51.100.${1 + (Date.now() % 250)}`;
    const before = await carpdSummary(s.lab, s.primary);
    const secondaryBefore = await carpdSummary(s.lab, s.secondary);

    const lines = ['', '[alias "lab_probe"]', 'type = host', `members = ${marker}`, '', '[rule "lab-probe"]', 'interface = WAN', 'action = block', 'source = lab_probe', 'description = added by the config-sync scenario'];
    const file = '/tmp/config-sync.ini';
    await fw1.succeed(`carpd config show > ${file} && printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} >> ${file}`);
    const t0 = performance.now();
    const apply = await fw1.exec(`carpd config apply ${file}`, 60_000);
    const appliedMs = performance.now() - t0;
    s.check('carpd config apply on the primary succeeds', apply.exitCode === 0, apply.stdout.trim().split('\n').at(-1));
    if (apply.exitCode !== 0) return;

    // grep's exit code on a node's loaded ruleset: 0 the marker is there, 1 it is not.
    const findRule = async (vm: typeof fw1) => (await vm.exec(`nft list ruleset | grep -c '${marker}'`)).exitCode;
    const loaded = await s.waitUntil(async () => ((await findRule(fw2)) === 0 ? true : undefined), 30_000, 100);
    // Measured from the apply command: includes its own run on the primary (a Node start under TCG).
    s.report.figures.applyToActiveOnSecondaryMs = loaded ? Math.round(loaded.ms + appliedMs) : 'never';
    s.report.figures.applyCommandMs = Math.round(appliedMs);
    s.check(`the rule is loaded in ${s.secondary}'s nftables`, loaded !== undefined);

    // The summaries follow (each carpd rewrites its status.json when a config becomes active).
    const synced = await s.waitUntil(async () => {
      const [p, q] = [await carpdSummary(s.lab, s.primary), await carpdSummary(s.lab, s.secondary)];
      return q.revision > secondaryBefore.revision && p.configSync.peers.some((x) => x.peerRevision === q.revision) ? { p, q } : undefined;
    }, 10_000, 300);
    const p = synced?.value.p ?? (await carpdSummary(s.lab, s.primary));
    const q = synced?.value.q ?? (await carpdSummary(s.lab, s.secondary));
    const peer = p.configSync.peers.find((x) => x.name === s.lab.topo.nodes.find((n) => n.name === s.secondary)!.siteNode);
    s.report.figures.primaryRevision = p.revision;
    s.report.figures.secondaryRevision = q.revision;
    s.check('the primary has a new revision', p.revision > before.revision, `${before.revision} -> ${p.revision}`);
    s.check('the secondary has a new revision', q.revision > secondaryBefore.revision, `${secondaryBefore.revision} -> ${q.revision}`);
    s.check('the primary reports the peer synced at its revision, no error', peer !== undefined && peer.lastError === null && peer.peerRevision === q.revision, JSON.stringify(peer));
    s.check('no VIP moved', s.soleMaster(await s.states()) === s.primary);

    const rollback = await fw1.exec(`carpd config rollback ${before.revision}`, 60_000);
    s.check('carpd config rollback on the primary succeeds', rollback.exitCode === 0, rollback.stdout.trim().split('\n').at(-1));
    const gone = await s.waitUntil(async () => ((await findRule(fw2)) === 1 ? true : undefined), 30_000, 200);
    s.check(`the rollback reached ${s.secondary}: the rule is gone from its nftables`, gone !== undefined);
    s.check(`the rule is gone from ${s.primary} too`, (await findRule(fw1)) !== 0);
    s.recordNodes(await s.states());
  },
};
