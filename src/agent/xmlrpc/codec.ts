/**
 * The XML-RPC wire format (http://xmlrpc.com/spec.md): methodCall,
 * methodResponse and fault documents, both ways.
 *
 * Decoding is strict: every deviation from the spec's shapes is a fault that
 * says where it is (params[0].areas.rules) and what was expected, so that a
 * foreign client's author can fix their side from the message alone. The
 * reader below it (xml.ts) has already refused DTDs, entities and oversize
 * input. Nothing here throws anything but XmlRpcFault.
 */
import { FAULT, XmlRpcFault } from './faults.js';
import { DEFAULT_XML_LIMITS, escapeText, isXmlText, parseXml, type XmlElement, type XmlLimits } from './xml.js';
import { INT32_MAX, INT32_MIN, newStruct, type XmlRpcStruct, type XmlRpcValue } from './value.js';

export interface MethodCall {
  methodName: string;
  params: XmlRpcValue[];
}

export type MethodResponse = { fault: false; value: XmlRpcValue } | { fault: true; code: number; message: string };

/** Method names per the spec: letters, digits, _ . : / */
export const METHOD_NAME = /^[A-Za-z0-9_.:/]{1,128}$/;

// ---- decoding -------------------------------------------------------------------------

export function parseMethodCall(xml: string, limits: XmlLimits = DEFAULT_XML_LIMITS): MethodCall {
  const root = parseXml(xml, limits);
  if (root.name !== 'methodCall') invalid('document', `expected <methodCall>, found <${root.name}>`);
  onlyWhitespace(root, 'methodCall');
  const [nameEl, paramsEl, ...rest] = root.children;
  if (nameEl?.name !== 'methodName') invalid('methodCall', 'the first element must be <methodName>');
  if (nameEl.children.length > 0) invalid('methodName', 'holds elements, expected text');
  const methodName = nameEl.text.trim();
  if (!METHOD_NAME.test(methodName)) invalid('methodName', `"${methodName.slice(0, 60)}" is not a method name (letters, digits, _ . : /)`);
  if (rest.length > 0) invalid('methodCall', `unexpected <${rest[0]?.name}> after <params>`);
  if (paramsEl === undefined) return { methodName, params: [] };
  if (paramsEl.name !== 'params') invalid('methodCall', `expected <params>, found <${paramsEl.name}>`);
  return { methodName, params: decodeParams(paramsEl) };
}

export function parseMethodResponse(xml: string, limits: XmlLimits = DEFAULT_XML_LIMITS): MethodResponse {
  const root = parseXml(xml, limits);
  if (root.name !== 'methodResponse') invalid('document', `expected <methodResponse>, found <${root.name}>`);
  onlyWhitespace(root, 'methodResponse');
  const only = single(root, 'methodResponse');
  if (only.name === 'params') {
    const params = decodeParams(only);
    if (params.length !== 1) invalid('methodResponse', `a response carries exactly one <param>, found ${params.length}`);
    return { fault: false, value: params[0] as XmlRpcValue };
  }
  if (only.name !== 'fault') invalid('methodResponse', `expected <params> or <fault>, found <${only.name}>`);
  onlyWhitespace(only, 'fault');
  const valueEl = single(only, 'fault');
  if (valueEl.name !== 'value') invalid('fault', `expected <value>, found <${valueEl.name}>`);
  const v = decodeValue(valueEl, 'fault');
  const code = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as XmlRpcStruct).faultCode : undefined;
  const message = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as XmlRpcStruct).faultString : undefined;
  if (typeof code !== 'number' || !Number.isInteger(code) || typeof message !== 'string') {
    invalid('fault', 'expected a struct with faultCode (int) and faultString (string)');
  }
  return { fault: true, code, message };
}

function decodeParams(paramsEl: XmlElement): XmlRpcValue[] {
  onlyWhitespace(paramsEl, 'params');
  return paramsEl.children.map((param, i) => {
    const where = `params[${i}]`;
    if (param.name !== 'param') invalid('params', `expected <param>, found <${param.name}>`);
    onlyWhitespace(param, where);
    const valueEl = single(param, where);
    if (valueEl.name !== 'value') invalid(where, `expected <value>, found <${valueEl.name}>`);
    return decodeValue(valueEl, where);
  });
}

/** One <value> element: a typed child, or bare text (a string, per the spec). */
export function decodeValue(valueEl: XmlElement, where: string): XmlRpcValue {
  if (valueEl.children.length === 0) return valueEl.text;
  onlyWhitespace(valueEl, where);
  const typed = single(valueEl, where);
  switch (typed.name) {
    case 'i4':
    case 'int':
      return decodeInt(leafText(typed, where), where);
    case 'boolean': {
      const t = leafText(typed, where).trim();
      if (t !== '0' && t !== '1') invalid(where, `<boolean> holds "${clip(t)}", expected 0 or 1`);
      return t === '1';
    }
    case 'string':
      return leafText(typed, where);
    case 'double':
      return decodeDouble(leafText(typed, where), where);
    case 'dateTime.iso8601':
      return decodeDate(leafText(typed, where), where);
    case 'base64':
      return decodeBase64(leafText(typed, where), where);
    case 'struct':
      return decodeStruct(typed, where);
    case 'array':
      return decodeArray(typed, where);
    case 'nil':
      if (typed.children.length > 0 || typed.text.trim() !== '') invalid(where, '<nil/> must be empty');
      return null;
    default:
      return invalid(where, `unknown value type <${typed.name}> (expected int, i4, boolean, string, double, dateTime.iso8601, base64, struct, array or nil)`);
  }
}

function decodeInt(text: string, where: string): number {
  const t = text.trim();
  if (!/^[+-]?[0-9]{1,20}$/.test(t)) invalid(where, `<int> holds "${clip(t)}", not a whole number`);
  const n = Number(t);
  if (n < INT32_MIN || n > INT32_MAX) invalid(where, `<int> ${clip(t)} is outside the 32-bit range`);
  return n;
}

function decodeDouble(text: string, where: string): number {
  const t = text.trim();
  // The spec has no exponent, but common encoders (Python's repr) write one.
  if (!/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$/.test(t)) invalid(where, `<double> holds "${clip(t)}", not a number`);
  const n = Number(t);
  if (!Number.isFinite(n)) invalid(where, `<double> ${clip(t)} is out of range`);
  return n;
}

const DATE = /^([0-9]{4})-?([0-9]{2})-?([0-9]{2})T([0-9]{2}):?([0-9]{2}):?([0-9]{2})(?:\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;

function decodeDate(text: string, where: string): Date {
  const t = text.trim();
  const m = DATE.exec(t);
  if (m === null) invalid(where, `<dateTime.iso8601> holds "${clip(t)}", expected e.g. 19980717T14:08:55`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  let ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    invalid(where, `<dateTime.iso8601> "${clip(t)}" is not a real date and time`);
  }
  const zone = m[7];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return new Date(ms);
}

function decodeBase64(text: string, where: string): Uint8Array {
  const t = text.replace(/[ \t\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) invalid(where, '<base64> is not valid base64');
  return new Uint8Array(Buffer.from(t, 'base64'));
}

function decodeStruct(el: XmlElement, where: string): XmlRpcStruct {
  onlyWhitespace(el, where);
  const out = newStruct();
  for (const member of el.children) {
    if (member.name !== 'member') invalid(where, `expected <member> in <struct>, found <${member.name}>`);
    onlyWhitespace(member, where);
    const [nameEl, valueEl, ...rest] = member.children;
    if (nameEl?.name !== 'name' || valueEl?.name !== 'value' || rest.length > 0) invalid(where, '<member> must hold <name> then <value>');
    const name = leafText(nameEl, where);
    if (Object.prototype.hasOwnProperty.call(out, name)) invalid(where, `struct member "${clip(name)}" appears twice`);
    out[name] = decodeValue(valueEl, `${where}.${name}`);
  }
  return out;
}

function decodeArray(el: XmlElement, where: string): XmlRpcValue[] {
  onlyWhitespace(el, where);
  const data = single(el, where);
  if (data.name !== 'data') invalid(where, `<array> must hold <data>, found <${data.name}>`);
  onlyWhitespace(data, where);
  return data.children.map((v, i) => {
    if (v.name !== 'value') invalid(where, `expected <value> in <data>, found <${v.name}>`);
    return decodeValue(v, `${where}[${i}]`);
  });
}

function leafText(el: XmlElement, where: string): string {
  if (el.children.length > 0) invalid(where, `<${el.name}> must hold text, found <${el.children[0]?.name}>`);
  return el.text;
}

function single(el: XmlElement, where: string): XmlElement {
  if (el.children.length !== 1) invalid(where, `<${el.name}> must hold exactly one element, found ${el.children.length}`);
  return el.children[0] as XmlElement;
}

function onlyWhitespace(el: XmlElement, where: string): void {
  if (el.text.trim() !== '') invalid(where, `text "${clip(el.text.trim())}" inside <${el.name}>, where only elements belong`);
}

function invalid(where: string, message: string): never {
  throw new XmlRpcFault(FAULT.invalidRequest, `${where}: ${message}`);
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

// ---- encoding -------------------------------------------------------------------------

const MAX_ENCODE_DEPTH = 32;

export function encodeMethodCall(methodName: string, params: readonly XmlRpcValue[]): string {
  if (!METHOD_NAME.test(methodName)) throw new XmlRpcFault(FAULT.internal, `"${methodName}" is not a method name`);
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>${methodName}</methodName><params>${ps}</params></methodCall>\n`;
}

export function encodeResponse(value: XmlRpcValue): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><params><param>${encodeValue(value)}</param></params></methodResponse>\n`;
}

export function encodeFault(code: number, message: string): string {
  const fault = newStruct();
  fault.faultCode = Number.isInteger(code) && code >= INT32_MIN && code <= INT32_MAX ? code : FAULT.internal;
  // A fault must always be sendable: characters XML cannot carry become U+FFFD.
  // eslint-disable-next-line no-control-regex
  fault.faultString = isXmlText(message) ? message : message.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/g, '\uFFFD');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><fault>${encodeValue(fault)}</fault></methodResponse>\n`;
}

/** One value as <value>...</value>. Throws XmlRpcFault(internal) for what XML-RPC cannot carry. */
export function encodeValue(v: XmlRpcValue, depth = 0): string {
  if (depth > MAX_ENCODE_DEPTH) throw new XmlRpcFault(FAULT.internal, `value nested deeper than ${MAX_ENCODE_DEPTH}`);
  if (v === null || v === undefined) return '<value><nil/></value>';
  switch (typeof v) {
    case 'string':
      if (!isXmlText(v)) throw new XmlRpcFault(FAULT.internal, 'a string holds a character XML cannot carry');
      return `<value><string>${escapeText(v)}</string></value>`;
    case 'boolean':
      return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    case 'number':
      if (!Number.isFinite(v)) throw new XmlRpcFault(FAULT.internal, `${v} cannot be sent as a double`);
      if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return `<value><int>${v}</int></value>`;
      return `<value><double>${String(v)}</double></value>`;
    case 'object':
      break;
    default:
      throw new XmlRpcFault(FAULT.internal, `a ${typeof v} cannot be sent over XML-RPC`);
  }
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new XmlRpcFault(FAULT.internal, 'an invalid date cannot be sent');
    return `<value><dateTime.iso8601>${formatDate(v)}</dateTime.iso8601></value>`;
  }
  if (v instanceof Uint8Array) return `<value><base64>${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}</base64></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map((x) => encodeValue(x, depth + 1)).join('')}</data></array></value>`;
  const members = Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .map((k) => {
      if (!isXmlText(k)) throw new XmlRpcFault(FAULT.internal, 'a struct member name holds a character XML cannot carry');
      return `<member><name>${escapeText(k)}</name>${encodeValue(v[k] as XmlRpcValue, depth + 1)}</member>`;
    });
  return `<value><struct>${members.join('')}</struct></value>`;
}

/** The spec's own form, 19980717T14:08:55, in UTC. */
function formatDate(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
