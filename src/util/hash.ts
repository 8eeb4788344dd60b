import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 hex of strings/buffers, fed in order (a cache key for stage inputs). */
export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0'); // separator so ('ab','c') and ('a','bc') differ
  }
  return h.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
