/**
 * Checking what a caller sent against what a method expects, with faults
 * that name the parameter and both types ("params[0].areas.rules: expected
 * string, got int"). Used by the dispatcher for top-level parameters and by
 * methods for the members of the structs they take.
 */
import { FAULT, XmlRpcFault } from './faults.js';
import { isStruct, typeName, type XmlRpcStruct, type XmlRpcValue } from './value.js';

/** A parameter type: the XML-RPC names, 'double' also takes ints, 'string[]' is an array of strings. */
export type ParamType = 'string' | 'int' | 'boolean' | 'double' | 'struct' | 'array' | 'base64' | 'dateTime.iso8601' | 'string[]';

export function wrongType(where: string, expected: string, got: XmlRpcValue | undefined): never {
  throw new XmlRpcFault(FAULT.invalidParams, `${where}: expected ${expected}, got ${typeName(got)}`);
}

export function badParam(where: string, message: string): never {
  throw new XmlRpcFault(FAULT.invalidParams, `${where}: ${message}`);
}

export function matches(type: ParamType, v: XmlRpcValue | undefined): boolean {
  if (type === 'string[]') return Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (type === 'double') return typeof v === 'number';
  if (type === 'array') return Array.isArray(v);
  if (type === 'struct') return isStruct(v);
  return typeName(v) === type;
}

export function describeType(type: ParamType): string {
  return type === 'string[]' ? 'array of strings' : type;
}

export function expect(v: XmlRpcValue | undefined, type: ParamType, where: string): void {
  if (!matches(type, v)) wrongType(where, describeType(type), v);
}

export function expectString(v: XmlRpcValue | undefined, where: string): string {
  if (typeof v !== 'string') wrongType(where, 'string', v);
  return v;
}

export function expectStruct(v: XmlRpcValue | undefined, where: string): XmlRpcStruct {
  if (!isStruct(v)) wrongType(where, 'struct', v);
  return v;
}

export function expectStringArray(v: XmlRpcValue | undefined, where: string): string[] {
  expect(v, 'string[]', where);
  return v as string[];
}

/** A struct whose every member is a string (name -> text). */
export function expectStringMap(v: XmlRpcValue | undefined, where: string): Record<string, string> {
  const s = expectStruct(v, where);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, x] of Object.entries(s)) out[k] = expectString(x, `${where}.${k}`);
  return out;
}

/** An optional member: absent -> fallback, present -> must have the type. */
export function optional<T extends XmlRpcValue>(s: XmlRpcStruct, name: string, type: ParamType, fallback: T, where: string): T {
  const v = s[name];
  if (v === undefined) return fallback;
  expect(v, type, `${where}.${name}`);
  return v as T;
}

/** Refuses members the method does not know, so typos ("froce") are not silently ignored. */
export function onlyMembers(s: XmlRpcStruct, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(s)) {
    if (!allowed.includes(k)) badParam(`${where}.${k}`, `unknown member (allowed: ${allowed.join(', ')})`);
  }
}
