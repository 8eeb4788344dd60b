/**
 * Typed access to the keys of one scanned section.
 *
 * Each getter reports a ConfigError (with the key's line) when the value is
 * missing or malformed and returns undefined, so the caller can carry on and
 * the user gets every problem in one run. `rejectUnknownKeys` must be called
 * last: any key nobody asked for is reported together with the allowed keys.
 */
import type { ErrorList } from './errors.js';
import { NetError } from './net.js';
import type { ScannedSection } from './scan.js';

/** Thrown by value parsers passed to `SectionReader.custom`. */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

interface Presence {
  /** Report an error when the key is absent. */
  required?: boolean;
}

const TRUE_WORDS = ['yes', 'true', 'on', '1'];
const FALSE_WORDS = ['no', 'false', 'off', '0'];

export class SectionReader {
  /** True once any value of this section failed to parse. */
  broken = false;
  /** Keys whose value failed to parse. */
  readonly brokenKeys = new Set<string>();
  private readonly used = new Set<string>();

  constructor(
    readonly section: ScannedSection,
    private readonly file: string,
    private readonly errors: ErrorList,
  ) {}

  get label(): string {
    return this.section.label;
  }

  has(key: string): boolean {
    return this.section.keys.has(key);
  }

  /** Line of the key, or of the section header when the key is absent. */
  lineOf(key?: string): number {
    return (key === undefined ? undefined : this.section.keys.get(key)?.line) ?? this.section.line;
  }

  /** Reports a problem with a key (or with the section when key is undefined). */
  error(key: string | undefined, message: string, allowed?: string): void {
    this.broken = true;
    if (key !== undefined) this.brokenKeys.add(key);
    this.errors.add({
      file: this.file,
      line: this.lineOf(key),
      section: this.label,
      ...(key === undefined ? {} : { key }),
      message,
      ...(allowed === undefined ? {} : { allowed }),
    });
  }

  /** The raw string value; also marks the key as known. */
  raw(key: string, opts: Presence = {}): string | undefined {
    this.used.add(key);
    const entry = this.section.keys.get(key);
    if (entry === undefined) {
      if (opts.required) this.error(undefined, `missing required key "${key}"`);
      return undefined;
    }
    if (entry.value === '') {
      this.error(key, 'empty value');
      return undefined;
    }
    return entry.value;
  }

  string(key: string, opts: Presence & { pattern?: RegExp; allowed?: string } = {}): string | undefined {
    const value = this.raw(key, opts);
    if (value === undefined) return undefined;
    if (opts.pattern !== undefined && !opts.pattern.test(value)) {
      this.error(key, `"${value}" is not valid`, opts.allowed);
      return undefined;
    }
    return value;
  }

  int(key: string, opts: Presence & { min: number; max: number; step?: number }): number | undefined {
    const value = this.raw(key, opts);
    if (value === undefined) return undefined;
    const range = `${opts.min}-${opts.max}${opts.step === undefined ? '' : ` in steps of ${opts.step}`}`;
    if (!/^-?[0-9]+$/.test(value)) {
      this.error(key, `"${value}" is not a whole number`, range);
      return undefined;
    }
    const n = Number(value);
    if (n < opts.min || n > opts.max) {
      this.error(key, `${value} is out of range`, range);
      return undefined;
    }
    if (opts.step !== undefined && n % opts.step !== 0) {
      this.error(key, `${value} is not a multiple of ${opts.step}`, range);
      return undefined;
    }
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const word = value.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    this.error(key, `"${value}" is not a yes/no value`, 'yes, no');
    return fallback;
  }

  choice<T extends string>(key: string, choices: readonly T[], opts: Presence = {}): T | undefined {
    const value = this.raw(key, opts);
    if (value === undefined) return undefined;
    const match = choices.find((c) => c === value);
    if (match === undefined) this.error(key, `"${value}" is not a known value`, choices.join(', '));
    return match;
  }

  /** A comma-separated list; empty items are refused. */
  list(key: string, opts: Presence = {}): string[] | undefined {
    const value = this.raw(key, opts);
    if (value === undefined) return undefined;
    const items = value.split(',').map((item) => item.trim());
    if (items.some((item) => item === '')) {
      this.error(key, `empty item in list "${value}"`, 'items separated by commas');
      return undefined;
    }
    return items;
  }

  /** A value run through `parse`, which throws ValueError (or NetError) with a message. */
  custom<T>(key: string, parse: (value: string) => T, opts: Presence = {}): T | undefined {
    const value = this.raw(key, opts);
    if (value === undefined) return undefined;
    return this.tryParse(key, value, parse);
  }

  /** Like `custom`, applied to each item of a comma-separated list; bad items are dropped. */
  customList<T>(key: string, parse: (item: string) => T, opts: Presence = {}): T[] | undefined {
    const items = this.list(key, opts);
    if (items === undefined) return undefined;
    const parsed: T[] = [];
    for (const item of items) {
      const value = this.tryParse(key, item, parse);
      if (value !== undefined) parsed.push(value);
    }
    return parsed;
  }

  /** Keys present in the file that no getter asked for. */
  unusedKeys(): string[] {
    return [...this.section.keys.keys()].filter((k) => !this.used.has(k));
  }

  /** Reports every key nobody read; call after all getters. */
  rejectUnknownKeys(allowed: string): void {
    for (const key of this.unusedKeys()) this.error(key, 'unknown key', allowed);
  }

  private tryParse<T>(key: string, value: string, parse: (value: string) => T): T | undefined {
    try {
      return parse(value);
    } catch (e) {
      if (e instanceof ValueError || e instanceof NetError) {
        this.error(key, e.message, e.allowed);
        return undefined;
      }
      throw e;
    }
  }
}
