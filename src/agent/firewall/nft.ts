/**
 * Small helpers for writing nftables text: quoting, element lists, and
 * normalising address and port lists so that nft never sees overlapping
 * elements (it refuses them in interval sets) and the output is stable.
 */
import { cidrContainsCidr, formatIP, type Cidr } from '../../config/net.js';
import { formatNetworkOrHost } from '../../config/refs.js';

/** A double-quoted nft string; nft strings cannot hold `"` or control characters. */
export function quote(text: string, maxBytes = 127): string {
  // eslint-disable-next-line no-control-regex
  let clean = text.replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]/g, ' ');
  while (Buffer.byteLength(clean, 'utf8') > maxBytes) clean = clean.slice(0, -1);
  return `"${clean}"`;
}

/** `comment "..."` (nft limits comments to 128 bytes). */
export function comment(text: string): string {
  return `comment ${quote(text, 127)}`;
}

/** One element alone, several as an anonymous set `{ a, b }`. */
export function elements(items: readonly string[]): string {
  return items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;
}

/** Sorts by family then address then prefix, drops prefixes contained in others. */
export function collapseCidrs(cidrs: readonly Cidr[]): Cidr[] {
  const sorted = [...cidrs].sort((a, b) => a.family - b.family || (a.prefix - b.prefix) || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const kept: Cidr[] = [];
  for (const c of sorted) {
    if (!kept.some((k) => cidrContainsCidr(k, c))) kept.push(c);
  }
  return kept.sort((a, b) => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : a.prefix - b.prefix));
}

export function formatCidrs(cidrs: readonly Cidr[]): string[] {
  return collapseCidrs(cidrs).map(formatNetworkOrHost);
}

/** True when any element is a network (needs `flags interval` in a named set). */
export function hasNetworks(cidrs: readonly Cidr[]): boolean {
  return cidrs.some((c) => c.prefix < (c.family === 4 ? 32 : 128));
}

/** "80", "8000-8080" items -> merged, sorted ranges as nft text. */
export function collapsePorts(items: readonly string[]): string[] {
  const ranges = items
    .map((item) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(item.trim());
      if (m === null) throw new Error(`"${item}" is not a port or port range`);
      const low = Number(m[1]);
      return [low, m[2] === undefined ? low : Number(m[2])] as [number, number];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [low, high] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`));
}

export function hasRanges(ports: readonly string[]): boolean {
  return ports.some((p) => p.includes('-'));
}

/** An address with an optional port as a NAT target: 192.0.2.1:80, [2001:db8::1]:80. */
export function natTarget(ip: Cidr, port?: string): string {
  const address = formatIP(ip);
  if (port === undefined) return address;
  return ip.family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** nft's selector for a family: `ip` or `ip6`. */
export function l3(family: 4 | 6): 'ip' | 'ip6' {
  return family === 4 ? 'ip' : 'ip6';
}
