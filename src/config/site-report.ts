/**
 * What the cross-section validators need besides the Site: where each section
 * and key was written (for file:line in messages) and which values already
 * failed to parse (so one typo is reported once, not again as a broken reference).
 */
import type { ErrorList } from './errors.js';
import { sectionLabel, type ScannedSection } from './scan.js';

export class SiteReport {
  constructor(
    readonly file: string,
    private readonly errors: ErrorList,
    private readonly sections: ReadonlyMap<string, ScannedSection>,
    /** Labels of sections with a parse error, and "label key" for keys with one. */
    private readonly broken: ReadonlySet<string>,
  ) {}

  /** Reports a problem at the key's line, or at the section header when the key is absent. */
  error(type: string, name: string | undefined, key: string | undefined, message: string, allowed?: string): void {
    const label = sectionLabel(type, name);
    const section = this.sections.get(label);
    const keyLine = key === undefined ? undefined : section?.keys.get(key)?.line;
    this.errors.add({
      file: this.file,
      line: keyLine ?? section?.line ?? 1,
      section: label,
      ...(key === undefined ? {} : { key }),
      message,
      ...(allowed === undefined ? {} : { allowed }),
    });
  }

  /** Line of a section (or of one of its keys), for "see line N" hints. */
  lineOf(type: string, name: string | undefined, key?: string): number {
    const section = this.sections.get(sectionLabel(type, name));
    return (key === undefined ? undefined : section?.keys.get(key)?.line) ?? section?.line ?? 1;
  }

  /** True when the section was written in the file (even if it failed to parse). */
  isDeclared(type: string, name: string): boolean {
    return this.sections.has(sectionLabel(type, name));
  }

  /** Names of all sections of a type written in the file, parsed or not. */
  declaredNames(type: string): string[] {
    return [...this.sections.values()].filter((s) => s.type === type && s.name !== undefined).map((s) => s.name ?? '');
  }

  /** True when the section (any of its keys), or the given key, had a parse error. */
  isBroken(type: string, name: string | undefined, key?: string): boolean {
    const label = sectionLabel(type, name);
    return this.broken.has(key === undefined ? label : `${label} ${key}`);
  }

  /** Reports a file-level problem (a missing section), at line 1. */
  fileError(message: string, allowed?: string): void {
    this.errors.add({ file: this.file, line: 1, message, ...(allowed === undefined ? {} : { allowed }) });
  }
}
