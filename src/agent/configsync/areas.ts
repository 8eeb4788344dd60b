/**
 * A site seen as config sync sees it: per-node sections that never travel
 * ([cluster], [sync], [node ...]) and sync areas (rules, aliases, vips, ...),
 * each a run of sections of the types SYNC_AREA_OF_SECTION assigns to it.
 *
 * Areas travel as canonical INI text (siteToIni's blocks), so what is hashed,
 * sent, diffed and stored is one format, and the receiver parses it with the
 * same parser and validation as any site file. Pure functions only.
 */
import { ErrorList } from '../../config/errors.js';
import { scanIni, sectionLabel } from '../../config/scan.js';
import { siteToIni } from '../../config/serialize.js';
import { SYNC_AREAS, SYNC_AREA_OF_SECTION, type Site, type SyncArea } from '../../config/types.js';
import { sha256 } from '../../util/hash.js';

export type AreaTexts = Partial<Record<SyncArea, string>>;

/** One section of canonical INI: header line plus its key lines. */
export interface IniBlock {
  type: string;
  label: string;
  text: string;
}

export function isSyncArea(name: string): name is SyncArea {
  return (SYNC_AREAS as readonly string[]).includes(name);
}

/** The sync area a section type belongs to; undefined for per-node types. */
export function areaOfType(type: string): SyncArea | undefined {
  return (SYNC_AREA_OF_SECTION as Record<string, SyncArea>)[type];
}

/** Section types of an area, for messages: [rule "NAME"]. */
export function sectionTypesOf(area: SyncArea): string[] {
  return Object.entries(SYNC_AREA_OF_SECTION)
    .filter(([, a]) => a === area)
    .map(([type]) => `[${type} "NAME"]`);
}

/**
 * Splits siteToIni output into its sections. Canonical INI has no comments
 * and no continuation lines, and every value that could start with "[" is
 * quoted, so a line starting with "[" is always a header.
 */
export function splitBlocks(canonical: string): IniBlock[] {
  const blocks: IniBlock[] = [];
  for (const line of canonical.split('\n')) {
    if (line.startsWith('[')) {
      const m = /^\[([A-Za-z][A-Za-z0-9_-]*)(?: "([^"]*)")?\]$/.exec(line);
      const type = m?.[1] ?? '';
      blocks.push({ type, label: sectionLabel(type, m?.[2]), text: `${line}\n` });
    } else if (line !== '') {
      const last = blocks[blocks.length - 1];
      if (last !== undefined) last.text += `${line}\n`;
    }
  }
  return blocks;
}

/** Each requested area's sections as canonical INI ('' for an area with no sections). */
export function areaTexts(site: Site, areas: readonly SyncArea[]): AreaTexts {
  const out: AreaTexts = {};
  for (const area of areas) out[area] = '';
  for (const block of splitBlocks(siteToIni(site))) {
    const area = areaOfType(block.type);
    if (area !== undefined && out[area] !== undefined) out[area] = joinBlocks(out[area], block.text);
  }
  return out;
}

/** sha256 per area of its canonical text: equal hashes mean equal areas, whatever the file's comments or order. */
export function areaHashes(site: Site, areas: readonly SyncArea[]): Partial<Record<SyncArea, string>> {
  const texts = areaTexts(site, areas);
  const out: Partial<Record<SyncArea, string>> = {};
  for (const area of areas) out[area] = sha256(texts[area] ?? '');
  return out;
}

/**
 * Problems with an area's text as received: INI syntax (with the line in
 * that text) and sections that belong to another area or to no area (a
 * [node] or [sync] smuggled into "rules" would otherwise replace the
 * receiver's own). Empty list: the text is fit to merge.
 */
export function areaTextProblems(area: SyncArea, text: string, file: string): string[] {
  const errors = new ErrorList();
  const scanned = scanIni(text, file, errors);
  const problems = errors.errors.map((e) => e.message);
  for (const s of scanned.sections) {
    if (areaOfType(s.type) !== area) {
      problems.push(`${file}:${s.line}: ${s.label} does not belong to area ${area} (allowed: ${sectionTypesOf(area).join(', ')})`);
    }
  }
  return problems;
}

/**
 * The receiver's new site text: its own per-node sections and the areas the
 * push does not carry, then the pushed areas. Not validated here: the caller
 * parses the result, so references across areas (a rule naming an alias)
 * are checked against what the node will really run.
 */
export function mergeAreas(local: Site, incoming: AreaTexts): string {
  const kept = splitBlocks(siteToIni(local)).filter((b) => {
    const area = areaOfType(b.type);
    return area === undefined || incoming[area] === undefined;
  });
  let text = kept.map((b) => b.text).reduce(joinBlocks, '');
  for (const area of SYNC_AREAS) {
    const t = incoming[area];
    if (t !== undefined && t.trim() !== '') text = joinBlocks(text, t.endsWith('\n') ? t : `${t}\n`);
  }
  return text;
}

function joinBlocks(a: string, b: string): string {
  return a === '' ? b : `${a}\n${b}`;
}

/** Areas of the site whose hash differs from the recorded ones (drift), in SYNC_AREAS order. */
export function changedAreas(site: Site, recorded: Partial<Record<SyncArea, string>>): SyncArea[] {
  const areas = SYNC_AREAS.filter((a) => recorded[a] !== undefined);
  const now = areaHashes(site, areas);
  return areas.filter((a) => now[a] !== recorded[a]);
}

