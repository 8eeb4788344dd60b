/**
 * Entry points for site files: scan -> read sections -> validate, collecting
 * every problem, then throw them together as ConfigErrors.
 */
import { readFile } from 'node:fs/promises';
import { ErrorList } from './errors.js';
import { scanIni } from './scan.js';
import { SiteReport } from './site-report.js';
import { readSiteSections, sortByName } from './site-sections.js';
import type { Site } from './types.js';
import { validateGateways, validateNodes, validateSync, validateVips } from './validate-network.js';
import { validateAliases, validateNat, validateRules } from './validate-policy.js';
import { validateDhcp, validateDns } from './validate-services.js';

/** Parses and validates a site file's text; throws ConfigErrors listing every problem. */
export function parseSite(text: string, file = 'site.ini'): Site {
  const errors = new ErrorList();
  const scanned = scanIni(text, file, errors);
  const { site, broken, sections } = readSiteSections(scanned, errors);
  validateSite(site, new SiteReport(file, errors, sections, broken));
  errors.throwIfAny();
  sortByName(site);
  return site;
}

/** Reads, parses and validates a site file. */
export async function loadSite(path: string): Promise<Site> {
  return parseSite(await readFile(path, 'utf8'), path);
}

function validateSite(site: Site, report: SiteReport): void {
  validateNodes(site, report);
  validateSync(site, report);
  validateVips(site, report);
  validateGateways(site, report);
  validateAliases(site, report);
  validateRules(site, report);
  validateNat(site, report);
  validateDhcp(site, report);
  validateDns(site, report);
}
