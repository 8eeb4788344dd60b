/**
 * Which certificate a peer must present: the decision, pure.
 *
 *   1. [node "fw2"] fingerprint = ... in the site: that one, nothing else.
 *   2. A fingerprint pinned earlier in the state dir: that one. A change is
 *      refused, loudly: it is a reinstalled peer or someone in the middle,
 *      and only the admin can tell (`carpd sync trust fw2 FINGERPRINT`).
 *   3. Neither, and [sync] tofu = yes (the default): trust on first use,
 *      pin it, and log the acceptance with the fingerprint so the admin can
 *      compare it with `carpd status` on the peer.
 *   4. Neither and tofu = no: refuse, saying which fingerprint was offered.
 */
import { normalizeFingerprint } from '../xmlrpc/x509.js';

export interface PinRecord {
  fingerprint: string;
  at: string;
  /** tofu: accepted on first use; trust: the admin said so (sync trust). */
  how: 'tofu' | 'trust';
}

export type PinDecision = { accept: true; pin?: PinRecord; log?: string } | { accept: false; message: string };

export interface PinInput {
  peer: string;
  offered: string;
  /** From the site ([node] fingerprint), already normalised. */
  configured?: string;
  stored?: PinRecord;
  tofu: boolean;
  now: Date;
}

export function decidePin(input: PinInput): PinDecision {
  const offered = normalizeFingerprint(input.offered) ?? input.offered;
  const { peer } = input;
  if (input.configured !== undefined) {
    if (offered === input.configured) return { accept: true };
    return { accept: false, message: `${peer}'s certificate ${offered} is not the one the site pins ([node "${peer}"] fingerprint = ${input.configured})` };
  }
  if (input.stored !== undefined) {
    if (offered === input.stored.fingerprint) return { accept: true };
    return {
      accept: false,
      message:
        `${peer}'s certificate changed: pinned ${input.stored.fingerprint} (${input.stored.how} ${input.stored.at}), now offered ${offered}. ` +
        `If ${peer} was reinstalled, check the fingerprint in its carpd status and run: carpd sync trust ${peer} ${offered}`,
    };
  }
  if (input.tofu) {
    return {
      accept: true,
      pin: { fingerprint: offered, at: input.now.toISOString(), how: 'tofu' },
      log: `trusting ${peer}'s certificate on first use: ${offered} (compare with carpd status on ${peer}; pinned from now on)`,
    };
  }
  return { accept: false, message: `no fingerprint pinned for ${peer} and [sync] tofu = no: set [node "${peer}"] fingerprint = ${offered}, or run carpd sync trust ${peer} ${offered}, after checking it on ${peer}` };
}
