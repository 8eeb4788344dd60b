/**
 * The nftables firewall as a ServiceUnit: render with renderRuleset, check
 * with `nft -c`, apply with `nft -f` (one kernel transaction: a refused
 * ruleset leaves the running one in place, see firewall/apply.ts).
 */
import { applyRuleset, checkRuleset, renderRuleset, type NftOptions, type RulesetOptions } from '../firewall/index.js';
import type { ServiceUnit } from './transaction.js';

export interface FirewallUnitOptions {
  ruleset?: RulesetOptions;
  nft?: NftOptions;
}

export function firewallUnit(node: string, opts: FirewallUnitOptions = {}): ServiceUnit {
  const nft: NftOptions = { source: `nftables ruleset of ${node}`, ...opts.nft };
  return {
    name: 'firewall',
    prepare(site) {
      const text = renderRuleset(site, node, opts.ruleset);
      return {
        key: text,
        async check() {
          const r = await checkRuleset(text, { ...nft, isolated: false });
          if (!r.ok) throw new Error(r.message);
        },
        async apply() {
          const r = await applyRuleset(text, nft);
          if (!r.applied) throw new Error(r.message);
        },
      };
    },
  };
}
