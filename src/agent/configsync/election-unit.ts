/**
 * The election (carpd's CarpService) as a ServiceUnit, so a config change
 * that touches VIPs switches the firewall and the elections together, or
 * neither. Typed by what it uses, so config sync does not depend on the
 * election's internals.
 *
 * `reconfigure` keeps unchanged VIPs running and restarts changed ones; the
 * key is what the election reads from a site (nodes, VIPs, cluster), so an
 * alias-only change does not touch it.
 */
import type { Site } from '../../config/types.js';
import type { ServiceUnit } from './transaction.js';

export interface Reconfigurable {
  readonly running: boolean;
  reconfigure(site: Site): Promise<unknown>;
}

export function electionUnit(election: Reconfigurable): ServiceUnit {
  return {
    name: 'election',
    prepare(site) {
      return {
        key: JSON.stringify({ cluster: site.cluster, nodes: site.nodes, vips: site.vips }),
        check: async () => {},
        apply: async () => {
          if (election.running) await election.reconfigure(site);
        },
      };
    },
  };
}
