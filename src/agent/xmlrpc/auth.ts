/**
 * HTTP basic authentication for the XML-RPC endpoint, and the brake on
 * password guessing. Pure: the clock is passed in.
 *
 * The brake is a token bucket per source address that only failed attempts
 * drain: `burst` wrong passwords in a row are answered 401, after that the
 * source gets 429 (with Retry-After) *without the password being checked*
 * until a token has grown back, so guessing runs at `refillPerMinute` tries a
 * minute at most. The primary, which knows the password, never notices it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  user: string;
  password: string;
}

/** The user and password of an `Authorization: Basic ...` header, or undefined. */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic[ ]+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function basicAuthHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
}

/** Constant-time comparison (hashes first, so lengths do not leak either). */
export function credentialsMatch(given: Credentials, expected: Credentials): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const userOk = timingSafeEqual(h(given.user), h(expected.user));
  const passOk = timingSafeEqual(h(given.password), h(expected.password));
  return userOk && passOk;
}

export interface LimiterOptions {
  /** Wrong passwords accepted in a row before 429. Default 5. */
  burst?: number;
  /** Tokens regained per minute. Default 5 (one every 12 s). */
  refillPerMinute?: number;
  /** Sources remembered at most (the oldest are forgotten). Default 1024. */
  maxSources?: number;
}

export type LimitVerdict = { ok: true } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly maxSources: number;

  constructor(opts: LimiterOptions = {}) {
    this.burst = opts.burst ?? 5;
    this.perMs = (opts.refillPerMinute ?? 5) / 60_000;
    this.maxSources = opts.maxSources ?? 1024;
  }

  /** May this source try a password now? */
  check(source: string, nowMs: number): LimitVerdict {
    const b = this.refill(source, nowMs);
    if (b === undefined || b.tokens >= 1) return { ok: true };
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  /** Records a wrong password from this source. */
  failed(source: string, nowMs: number): void {
    const b = this.refill(source, nowMs) ?? { tokens: this.burst, at: nowMs };
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.delete(source); // re-insert: Map order is then least recently failed first
    this.buckets.set(source, b);
    this.trim();
  }

  /** A right password: this source starts over with a full bucket. */
  succeeded(source: string): void {
    this.buckets.delete(source);
  }

  private refill(source: string, nowMs: number): Bucket | undefined {
    const b = this.buckets.get(source);
    if (b === undefined) return undefined;
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, nowMs - b.at) * this.perMs);
    b.at = nowMs;
    return b;
  }

  private trim(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxSources) return;
      this.buckets.delete(key);
    }
  }
}
