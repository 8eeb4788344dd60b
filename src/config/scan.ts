/**
 * A line scanner for the INI dialect of site and board files.
 *
 * The `ini` package decodes values well but loses line numbers and reads dots
 * in section names as nesting ([node "fw1.example"] would become nested
 * objects). So this scanner finds sections and keys itself, remembering the
 * line of each and refusing duplicates, and hands each value to `ini.unsafe`,
 * which strips inline comments (; or #), honours \; \# escapes and decodes
 * quoted strings.
 *
 * Accepted lines:
 *   ; comment      # comment      (blank)
 *   [type]         [type "name"]
 *   key = value    (a value may be "quoted" to keep ; or # or leading spaces)
 */
import ini from 'ini';
import type { ErrorList } from './errors.js';

export interface ScannedKey {
  key: string;
  value: string;
  line: number;
}

export interface ScannedSection {
  type: string;
  /** The quoted part of the header; undefined for singleton sections such as [cluster]. */
  name: string | undefined;
  line: number;
  /** The header as the user would recognise it, e.g. `[vip "lan"]`. */
  label: string;
  keys: Map<string, ScannedKey>;
}

export interface ScannedIni {
  file: string;
  sections: ScannedSection[];
}

const HEADER = /^\[\s*([A-Za-z][A-Za-z0-9_-]*)\s*(?:"([^"\]]*)")?\s*\]$/;
const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

export function sectionLabel(type: string, name: string | undefined): string {
  return name === undefined ? `[${type}]` : `[${type} "${name}"]`;
}

export function scanIni(text: string, file: string, errors: ErrorList): ScannedIni {
  const sections: ScannedSection[] = [];
  const seen = new Map<string, ScannedSection>();
  let current: ScannedSection | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);

  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;

    if (trimmed.startsWith('[')) {
      const header = HEADER.exec(stripComment(trimmed));
      if (header === null) {
        errors.add({ file, line, message: `malformed section header ${trimmed}`, allowed: '[type] or [type "name"]' });
        current = undefined;
        return;
      }
      const type = header[1] ?? '';
      const name = header[2];
      const label = sectionLabel(type, name);
      const section: ScannedSection = { type, name, line, label, keys: new Map() };
      const first = seen.get(label);
      if (first !== undefined) {
        errors.add({ file, line, section: label, message: `duplicate section (first defined at line ${first.line})` });
        current = section; // keys still get scanned for syntax, but the section is dropped
        return;
      }
      seen.set(label, section);
      sections.push(section);
      current = section;
      return;
    }

    const eq = trimmed.indexOf('=');
    if (eq < 0) {
      errors.add({ file, line, section: current?.label, message: `expected "key = value", found "${trimmed}"` });
      return;
    }
    const key = trimmed.slice(0, eq).trim();
    if (!KEY.test(key)) {
      errors.add({ file, line, section: current?.label, message: `bad key name "${key}"`, allowed: 'letters, digits and _' });
      return;
    }
    if (current === undefined) {
      errors.add({ file, line, key, message: 'key outside of any section' });
      return;
    }
    const decoded = decodeValue(trimmed.slice(eq + 1));
    if (decoded.error !== undefined) {
      errors.add({ file, line, section: current.label, key, message: decoded.error });
      return;
    }
    const previous = current.keys.get(key);
    if (previous !== undefined) {
      errors.add({ file, line, section: current.label, key, message: `duplicate key (first set at line ${previous.line})` });
      return;
    }
    current.keys.set(key, { key, value: decoded.value, line });
  });

  return { file, sections };
}

/** Decodes the text after "=" with ini.unsafe; a quoted value may be followed by a comment only. */
function decodeValue(raw: string): { value: string; error?: string } {
  const text = raw.trim();
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return { value: ini.unsafe(text) };
  const end = closingQuote(text, quote);
  if (end < 0) return { value: '', error: `unterminated quoted value ${text}` };
  const rest = text.slice(end + 1).trim();
  if (rest !== '' && !rest.startsWith(';') && !rest.startsWith('#')) {
    return { value: '', error: `unexpected text after quoted value: ${rest}` };
  }
  const value = ini.unsafe(text.slice(0, end + 1));
  if (quote === '"' && value.startsWith('"')) return { value: '', error: `bad escape in quoted value ${text}` };
  return { value };
}

function closingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

// A header line may carry a trailing comment: [cluster] ; the cluster
function stripComment(header: string): string {
  const close = header.indexOf(']');
  if (close < 0) return header;
  const rest = header.slice(close + 1).trim();
  return rest === '' || rest.startsWith(';') || rest.startsWith('#') ? header.slice(0, close + 1) : header;
}
