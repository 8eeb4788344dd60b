/**
 * The values XML-RPC carries, as plain JavaScript:
 *
 *   <int>/<i4>            number (a whole number in the signed 32-bit range)
 *   <double>              number (any other finite number)
 *   <boolean>             boolean
 *   <string>, bare text   string
 *   <dateTime.iso8601>    Date (the spec gives no zone; carpd reads and writes UTC)
 *   <base64>              Uint8Array
 *   <struct>              XmlRpcStruct (an object without prototype, so member
 *                         names such as "__proto__" are just names)
 *   <array>               XmlRpcValue[]
 *   <nil/>                null (the common extension; Python reads it always)
 */
export type XmlRpcValue = string | number | boolean | null | Date | Uint8Array | XmlRpcValue[] | XmlRpcStruct;
export interface XmlRpcStruct {
  [member: string]: XmlRpcValue;
}

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export function isStruct(v: XmlRpcValue | undefined): v is XmlRpcStruct {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}

/** An empty struct that cannot be polluted through its prototype. */
export function newStruct(): XmlRpcStruct {
  return Object.create(null) as XmlRpcStruct;
}

/** The XML-RPC type name of a value, for "expected X, got Y" messages. */
export function typeName(v: XmlRpcValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? 'int' : 'double';
  if (v instanceof Date) return 'dateTime.iso8601';
  if (v instanceof Uint8Array) return 'base64';
  if (Array.isArray(v)) return 'array';
  return 'struct';
}
