/**
 * What a client saw while pinging through a VIP: parsed from iputils ping
 * run with -D (a timestamp on every reply). The outage is the longest
 * stretch without replies, which is what a user feels during a failover.
 */
export interface PingResult {
  sent: number;
  received: number;
  lost: number;
  /** Longest gap between consecutive replies minus the interval, in ms (0 when nothing was lost). */
  outageMs: number;
  /** When the longest gap started (epoch ms), for lining up with other events. */
  outageStartMs?: number;
}

export function parsePing(output: string, intervalMs: number): PingResult {
  const stamps: number[] = [];
  const seqs = new Set<number>();
  for (const line of output.split('\n')) {
    const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (m && !seqs.has(Number(m[2]))) {
      seqs.add(Number(m[2]));
      stamps.push(Number(m[1]) * 1000);
    }
  }
  const summary = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const sent = summary ? Number(summary[1]) : stamps.length;
  const received = summary ? Number(summary[2]) : stamps.length;
  let outageMs = 0;
  let outageStartMs: number | undefined;
  for (let i = 1; i < stamps.length; i++) {
    const gap = stamps[i]! - stamps[i - 1]! - intervalMs;
    if (gap > outageMs) {
      outageMs = gap;
      outageStartMs = stamps[i - 1];
    }
  }
  // Without a lost packet a long gap is scheduling jitter, not an outage.
  if (sent - received === 0) {
    outageMs = 0;
    outageStartMs = undefined;
  }
  return { sent, received, lost: Math.max(0, sent - received), outageMs: Math.round(outageMs), outageStartMs };
}
