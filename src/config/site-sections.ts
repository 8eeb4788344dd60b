/**
 * Turns scanned sections into the typed Site, dispatching each section to its
 * reader (read-network.ts, read-policy.ts, read-services.ts).
 *
 * The readers check single values (ranges, formats, required and unknown
 * keys). Rules that relate sections to each other are in validate-*.ts.
 * A section whose values fail is left out of the Site (except nodes, which
 * keep their good addresses) and remembered as broken, so validators do not
 * report the same typo again as a dangling reference.
 */
import type { ErrorList } from './errors.js';
import { ALIAS_ALLOWED, ALIAS_NAME, HOSTNAME_ALLOWED, HOSTNAME_LABEL, OBJECT_ALLOWED, OBJECT_NAME, USER_ALLOWED, USER_NAME } from './names.js';
import { SectionReader } from './reader.js';
import { defaultSync, readCluster, readGateway, readNode, readSync, readVip } from './read-network.js';
import { readAlias, readNat, readRule } from './read-policy.js';
import { readDhcp, readDns, readUser } from './read-services.js';
import type { ScannedIni, ScannedSection } from './scan.js';
import type { Site } from './types.js';

/** The Site plus what validators need to know about the file it came from. */
export interface ReadSite {
  site: Site;
  /** Section labels and "label key" entries that failed to parse. */
  broken: Set<string>;
  /** Sections by label, for line lookups. */
  sections: Map<string, ScannedSection>;
}

interface SectionType {
  /** Singletons ([cluster]) have no name; the others need one. */
  named: boolean;
  namePattern?: RegExp;
  nameAllowed?: string;
}

const SECTION_TYPES: Record<string, SectionType> = {
  cluster: { named: false },
  sync: { named: false },
  node: { named: true, namePattern: HOSTNAME_LABEL, nameAllowed: HOSTNAME_ALLOWED },
  gateway: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  vip: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  alias: { named: true, namePattern: ALIAS_NAME, nameAllowed: ALIAS_ALLOWED },
  rule: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  nat: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  dhcp: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  dns: { named: true, namePattern: OBJECT_NAME, nameAllowed: OBJECT_ALLOWED },
  user: { named: true, namePattern: USER_NAME, nameAllowed: USER_ALLOWED },
};
const SECTION_TYPES_ALLOWED = '[cluster], [sync], [node "NAME"], [gateway "NAME"], [vip "NAME"], [alias "NAME"], [rule "NAME"], [nat "NAME"], [dhcp "NAME"], [dns "NAME"], [user "NAME"]';

/** Words that mean something else in address expressions, so aliases cannot take them. */
const RESERVED_ALIAS_NAMES = ['any', 'self'];

export function readSiteSections(scanned: ScannedIni, errors: ErrorList): ReadSite {
  const file = scanned.file;
  const broken = new Set<string>();
  const sections = new Map<string, ScannedSection>();
  const site: Site = {
    cluster: { name: '', secondarySkewOffset: 100, preempt: true },
    sync: defaultSync(),
    nodes: [],
    gateways: [],
    vips: [],
    aliases: [],
    rules: [],
    nat: [],
    dhcp: [],
    dns: [],
    users: [],
  };
  let sawCluster = false;
  let sawSync = false;

  for (const section of scanned.sections) {
    sections.set(section.label, section);
    const r = new SectionReader(section, file, errors);
    if (!checkHeader(r)) {
      broken.add(section.label);
      continue;
    }
    const name = section.name ?? '';
    switch (section.type) {
      case 'cluster': {
        sawCluster = true;
        site.cluster = readCluster(r);
        break;
      }
      case 'sync': {
        sawSync = true;
        site.sync = readSync(r);
        break;
      }
      case 'node':
        pushUnlessBroken(r, site.nodes, readNode(r, name), { keepWhenBroken: true });
        break;
      case 'gateway':
        pushUnlessBroken(r, site.gateways, readGateway(r, name));
        break;
      case 'vip':
        pushUnlessBroken(r, site.vips, readVip(r, name));
        break;
      case 'alias':
        pushUnlessBroken(r, site.aliases, readAlias(r, name));
        break;
      case 'rule':
        pushUnlessBroken(r, site.rules, readRule(r, name));
        break;
      case 'nat':
        pushUnlessBroken(r, site.nat, readNat(r, name));
        break;
      case 'dhcp':
        pushUnlessBroken(r, site.dhcp, readDhcp(r, name));
        break;
      case 'dns':
        pushUnlessBroken(r, site.dns, readDns(r, name));
        break;
      case 'user':
        pushUnlessBroken(r, site.users, readUser(r, name));
        break;
    }
    if (r.broken) broken.add(section.label);
    for (const key of r.brokenKeys) broken.add(`${section.label} ${key}`);
  }

  if (!sawCluster) errors.add({ file, line: 1, message: 'missing [cluster] section' });
  if (!sawSync) errors.add({ file, line: 1, message: 'missing [sync] section' });
  return { site, broken, sections };
}

/**
 * Order is meaningless for every named section type except rules and NAT
 * (first match wins), so those keep file order and the rest are sorted by name:
 * two files that differ only in section order give equal Sites, and
 * siteToIni -> parseSite reproduces a Site exactly. Called after validation,
 * so that validators see file order and blame the later of two clashing sections.
 */
export function sortByName(site: Site): void {
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const list of [site.nodes, site.gateways, site.vips, site.aliases, site.dhcp, site.dns, site.users]) {
    (list as { name: string }[]).sort(byName);
  }
}

/** Checks the section type and name; false means the section is skipped. */
function checkHeader(r: SectionReader): boolean {
  const { type, name } = r.section;
  const spec = SECTION_TYPES[type];
  if (spec === undefined) {
    r.error(undefined, `unknown section type "${type}"`, SECTION_TYPES_ALLOWED);
    return false;
  }
  if (!spec.named && name !== undefined) {
    r.error(undefined, `[${type}] takes no name`, `[${type}]`);
    return false;
  }
  if (spec.named && name === undefined) {
    r.error(undefined, `[${type}] needs a name`, `[${type} "NAME"]`);
    return false;
  }
  if (name !== undefined && spec.namePattern !== undefined && !spec.namePattern.test(name)) {
    r.error(undefined, `"${name}" is not a valid ${type} name`, spec.nameAllowed);
    return false;
  }
  if (type === 'alias' && name !== undefined && RESERVED_ALIAS_NAMES.includes(name)) {
    r.error(undefined, `"${name}" is reserved in address expressions`, spec.nameAllowed);
    return false;
  }
  return true;
}

function pushUnlessBroken<T>(r: SectionReader, list: T[], item: T | undefined, opts: { keepWhenBroken?: boolean } = {}): void {
  if (item !== undefined && (!r.broken || opts.keepWhenBroken)) list.push(item);
}
