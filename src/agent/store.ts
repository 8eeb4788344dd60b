import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * carpd's persistent state on the config partition:
 *
 *   <stateDir>/site.ini             the active site config
 *   <stateDir>/revisions/NNNNNN.ini every accepted config, newest last
 *   <stateDir>/revisions/NNNNNN.json who/when/where of each revision
 *   <stateDir>/state.json           counters and flags that outlive a reboot
 *
 * Every write goes to a temp file that is fsynced and renamed into place, so a
 * power cut leaves either the old or the new file, never half of one.
 */
export interface RevisionInfo {
  revision: number;
  at: string;
  by: string;
  from: string;
  note?: string;
}

export interface PersistentState {
  bootCount: number;
  firstBootAt?: string;
  lastBootAt?: string;
  [key: string]: unknown;
}

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // fsync the directory so the rename itself survives a power cut
  const dh = await open(dirname(path), 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export class StateStore {
  constructor(readonly dir: string) {}

  get sitePath(): string {
    return join(this.dir, 'site.ini');
  }

  private revPath(n: number, ext: string): string {
    return join(this.dir, 'revisions', `${String(n).padStart(6, '0')}.${ext}`);
  }

  async readSite(): Promise<string | undefined> {
    return readFile(this.sitePath, 'utf8').catch(() => undefined);
  }

  async revisions(): Promise<RevisionInfo[]> {
    const files = await readdir(join(this.dir, 'revisions')).catch(() => [] as string[]);
    const out: RevisionInfo[] = [];
    for (const f of files.filter((f) => f.endsWith('.json')).sort()) {
      try {
        out.push(JSON.parse(await readFile(join(this.dir, 'revisions', f), 'utf8')) as RevisionInfo);
      } catch {
        // a damaged history entry must not stop the agent; it is skipped
      }
    }
    return out;
  }

  async currentRevision(): Promise<number> {
    const revs = await this.revisions();
    return revs.length ? revs[revs.length - 1]!.revision : 0;
  }

  /** Record a new accepted config and make it the active one. */
  async commitSite(text: string, info: Omit<RevisionInfo, 'revision' | 'at'>, keep = 20): Promise<RevisionInfo> {
    const revision = (await this.currentRevision()) + 1;
    const full: RevisionInfo = { revision, at: new Date().toISOString(), ...info };
    await writeFileAtomic(this.revPath(revision, 'ini'), text);
    await writeFileAtomic(this.revPath(revision, 'json'), JSON.stringify(full, null, 2) + '\n');
    await writeFileAtomic(this.sitePath, text);
    for (const old of (await this.revisions()).slice(0, -keep)) {
      await rm(this.revPath(old.revision, 'ini'), { force: true });
      await rm(this.revPath(old.revision, 'json'), { force: true });
    }
    return full;
  }

  async readState(): Promise<PersistentState> {
    try {
      return JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as PersistentState;
    } catch {
      return { bootCount: 0 };
    }
  }

  async updateState(change: (s: PersistentState) => void): Promise<PersistentState> {
    const s = await this.readState();
    change(s);
    await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(s, null, 2) + '\n');
    return s;
  }
}
