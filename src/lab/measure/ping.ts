/**
 * What a client saw while pinging through a VIP, parsed from iputils ping
 * run with -D. The outage is the longest run of consecutive lost echo
 * requests times the interval: the standard loss-based figure. (Gaps between
 * reply timestamps would also count moments when the pinger itself was not
 * scheduled, which happens when QEMU VMs keep every host core busy.)
 * Requests still in flight when the pinger stops are not losses (see inFlight).
 */
export interface PingResult {
  sent: number;
  received: number;
  lost: number;
  /** Longest run of consecutive lost requests x interval, in ms. */
  outageMs: number;
  /** Longest gap between two replies, in ms: an upper bound that includes pinger stalls. */
  maxGapMs: number;
  /** Requests still unanswered when the pinger was stopped, left out of sent and lost. */
  inFlight: number;
}

/** ping -W 1: a request unanswered for longer than this is lost, not late. */
const REPLY_TIMEOUT_MS = 1000;

export function parsePing(output: string, intervalMs: number): PingResult {
  const replies = new Map<number, number>(); // seq -> epoch ms
  for (const line of output.split('\n')) {
    const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (m && !replies.has(Number(m[2]))) replies.set(Number(m[2]), Number(m[1]) * 1000);
  }
  const summary = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const transmitted = summary ? Number(summary[1]) : replies.size;
  const received = summary ? Number(summary[2]) : replies.size;
  // Stopping the pinger (SIGINT) leaves the last requests in flight; a slow
  // responder (a TCG guest) can have several. The unanswered tail counts as
  // lost only when it is longer than the reply timeout, i.e. a real outage.
  const lastAnswered = Math.max(0, ...replies.keys());
  const tail = transmitted - lastAnswered;
  const inFlight = tail > 0 && tail * intervalMs <= REPLY_TIMEOUT_MS ? tail : 0;
  const sent = transmitted - inFlight;
  let run = 0;
  let longest = 0;
  for (let seq = 1; seq <= sent; seq++) {
    run = replies.has(seq) ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  const stamps = [...replies.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  let maxGap = 0;
  for (let i = 1; i < stamps.length; i++) maxGap = Math.max(maxGap, stamps[i]! - stamps[i - 1]!);
  return { sent, received, lost: Math.max(0, sent - received), outageMs: longest * intervalMs, maxGapMs: Math.round(maxGap), inFlight };
}
