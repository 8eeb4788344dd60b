/**
 * A small, strict XML reader for XML-RPC documents. Written by hand on
 * purpose: XML-RPC needs elements and text only, and every XML feature it
 * does not need is an attack surface (entity expansion, external entities,
 * deep nesting), so those are refused rather than configured away.
 *
 * Accepted: an optional UTF-8 BOM and <?xml version=... encoding="UTF-8"?>
 * declaration; elements without attributes; text with the five predefined
 * entities and numeric character references; CDATA sections; comments.
 * Refused with a parse fault: DOCTYPE / ENTITY / any other <! declaration,
 * processing instructions, attributes, other entity names, characters XML 1.0
 * forbids, mismatched or unclosed tags, a second root, and inputs beyond the
 * limits (size, depth, element count).
 *
 * Iterative (an explicit stack), so hostile nesting cannot overflow the JS
 * stack before the depth limit stops it. Every failure is an XmlRpcFault.
 */
import { FAULT, XmlRpcFault } from './faults.js';

export interface XmlLimits {
  /** Characters of input. */
  maxChars: number;
  /** Nesting depth of elements (root = 1). */
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements: number;
}

/** Room for nested structs and arrays of site areas, nothing near a memory problem. */
export const DEFAULT_XML_LIMITS: XmlLimits = { maxChars: 4 * 1024 * 1024, maxDepth: 64, maxElements: 100_000 };

export interface XmlElement {
  name: string;
  children: XmlElement[];
  /** All character data directly inside this element, entities decoded. */
  text: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9._:-]{0,63}/y;
const MAX_NAME = 64;
const DECLARATION = /^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(?:\s+encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\4)?\s*\?>/;
// XML 1.0 Char: tab, LF, CR, and everything from space up, minus surrogate halves that do not pair and U+FFFE/U+FFFF.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const REFERENCE = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(input: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  return new Reader(input, limits).document();
}

class Reader {
  private i = 0;
  private elements = 0;
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | undefined;

  constructor(
    private readonly s: string,
    private readonly limits: XmlLimits,
  ) {}

  document(): XmlElement {
    const { s } = this;
    if (s.length > this.limits.maxChars) this.fail(`document larger than ${this.limits.maxChars} characters`);
    const bad = FORBIDDEN_CHAR.exec(s);
    if (bad !== null) {
      this.i = bad.index;
      this.fail(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`);
    }
    if (s.startsWith('\uFEFF')) this.i = 1;
    this.declaration();
    while (this.i < s.length) {
      if (s[this.i] === '<') this.markup();
      else this.text();
    }
    if (this.stack.length > 0) this.fail(`unexpected end of document: <${this.stack[this.stack.length - 1]?.name}> is not closed`);
    if (this.root === undefined) this.fail('no root element');
    return this.root;
  }

  private fail(message: string): never {
    const before = this.s.slice(0, this.i);
    const line = before.split('\n').length;
    const column = this.i - before.lastIndexOf('\n');
    throw new XmlRpcFault(FAULT.parse, `malformed XML at line ${line} column ${column}: ${message}`);
  }

  private declaration(): void {
    if (!this.s.startsWith('<?xml', this.i)) return;
    const m = DECLARATION.exec(this.s.slice(this.i, this.i + 200));
    if (m === null) this.fail('malformed <?xml ...?> declaration');
    const encoding = m[3];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) this.fail(`encoding "${encoding}" is not supported (only UTF-8)`);
    this.i += m[0].length;
  }

  private markup(): void {
    const { s } = this;
    if (s.startsWith('<!--', this.i)) return this.comment();
    if (s.startsWith('<![CDATA[', this.i)) return this.cdata();
    if (s.startsWith('<!', this.i)) this.fail('DOCTYPE, ENTITY and other declarations are refused (no DTDs, no entity expansion)');
    if (s.startsWith('<?', this.i)) this.fail('processing instructions are refused');
    if (s.startsWith('</', this.i)) return this.closeTag();
    this.openTag();
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.i + 4);
    if (end < 0) this.fail('unterminated comment');
    if (this.s.slice(this.i + 4, end).includes('--')) this.fail('"--" inside a comment');
    this.i = end + 3;
  }

  private cdata(): void {
    const end = this.s.indexOf(']]>', this.i + 9);
    if (end < 0) this.fail('unterminated CDATA section');
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) this.fail('CDATA outside the root element');
    top.text += normalizeNewlines(this.s.slice(this.i + 9, end));
    this.i = end + 3;
  }

  private name(): string {
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (m === null) this.fail('expected an element name');
    this.i += m[0].length;
    if (m[0].length >= MAX_NAME && /[A-Za-z0-9._:-]/.test(this.s[this.i] ?? '')) this.fail(`element name longer than ${MAX_NAME} characters`);
    return m[0];
  }

  private skipSpace(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i] as string)) this.i++;
  }

  private openTag(): void {
    this.i++; // <
    const name = this.name();
    this.skipSpace();
    let selfClosing = false;
    if (this.s.startsWith('/>', this.i)) {
      selfClosing = true;
      this.i += 2;
    } else if (this.s[this.i] === '>') {
      this.i++;
    } else if (this.i >= this.s.length) {
      this.fail(`unexpected end of document inside <${name}`);
    } else {
      this.fail(`<${name}> has attributes or junk; XML-RPC elements take none`);
    }
    if (++this.elements > this.limits.maxElements) this.fail(`more than ${this.limits.maxElements} elements`);
    const el: XmlElement = { name, children: [], text: '' };
    const parent = this.stack[this.stack.length - 1];
    if (parent !== undefined) parent.children.push(el);
    else if (this.root !== undefined) this.fail(`a second root element <${name}>`);
    else this.root = el;
    if (selfClosing) return;
    if (this.stack.length >= this.limits.maxDepth) this.fail(`elements nested deeper than ${this.limits.maxDepth}`);
    this.stack.push(el);
  }

  private closeTag(): void {
    this.i += 2; // </
    const name = this.name();
    this.skipSpace();
    if (this.s[this.i] !== '>') this.fail(`malformed closing tag </${name}`);
    this.i++;
    const top = this.stack.pop();
    if (top === undefined) this.fail(`closing tag </${name}> without an open element`);
    if (top.name !== name) this.fail(`</${name}> closes <${top.name}>`);
  }

  private text(): void {
    const start = this.i;
    const next = this.s.indexOf('<', start);
    const end = next < 0 ? this.s.length : next;
    const raw = this.s.slice(start, end);
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      if (raw.trim() !== '') this.fail('text outside the root element');
      this.i = end;
      return;
    }
    top.text += this.decode(raw, start);
    this.i = end;
  }

  /** Resolves &lt; &#65; ... ; any other "&" is an error (there are no other entities). */
  private decode(raw: string, offset: number): string {
    if (!raw.includes('&')) return normalizeNewlines(raw);
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
      out += normalizeNewlines(raw.slice(from, amp));
      REFERENCE.lastIndex = amp;
      const m = REFERENCE.exec(raw);
      if (m === null) {
        this.i = offset + amp;
        this.fail('"&" starts no known reference (only &lt; &gt; &amp; &quot; &apos; and &#N; are allowed: no entity expansion)');
      }
      if (m[1] !== undefined) {
        out += PREDEFINED[m[1]];
      } else {
        const code = m[2] !== undefined ? Number(m[2]) : parseInt(m[3] ?? '', 16);
        if (!isXmlChar(code)) {
          this.i = offset + amp;
          this.fail(`character reference ${m[0]} is not an XML character`);
        }
        out += String.fromCodePoint(code);
      }
      from = amp + m[0].length;
    }
    // Literal line ends are normalised; a &#13; reference stays a carriage return (XML 1.0 2.11).
    return out + normalizeNewlines(raw.slice(from));
  }
}

function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** Escapes text for element content. \r is written as &#13; so it survives the reader's newline normalisation. */
export function escapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** True when XML 1.0 can carry the string at all (even as references). */
export function isXmlText(text: string): boolean {
  return !FORBIDDEN_CHAR.test(text);
}
