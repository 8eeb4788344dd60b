/**
 * The method table of an XML-RPC endpoint, without any I/O: a request body
 * in, a response body out. The HTTPS shell (server.ts) does transport,
 * authentication and limits; this does parsing, lookup, parameter checks and
 * the introspection methods every XML-RPC client expects
 * (system.listMethods, system.methodHelp, system.methodSignature).
 */
import { encodeFault, encodeResponse, parseMethodCall } from './codec.js';
import { FAULT, XmlRpcFault } from './faults.js';
import { describeType, matches, wrongType, type ParamType } from './params.js';
import type { XmlLimits } from './xml.js';
import type { XmlRpcValue } from './value.js';

/** Who is calling: passed to every handler (for logs and "from where" in history). */
export interface CallContext {
  remoteAddress: string;
  user: string;
}

export interface ParamSpec {
  name: string;
  type: ParamType;
  /** Optional trailing parameter. */
  optional?: boolean;
}

export interface MethodDef {
  help: string;
  /** XML-RPC type of the result, for system.methodSignature. */
  returns: string;
  params: ParamSpec[];
  handler: (params: XmlRpcValue[], ctx: CallContext) => XmlRpcValue | Promise<XmlRpcValue>;
}

export interface DispatchResult {
  /** The methodResponse document to send. */
  xml: string;
  method?: string;
  fault?: { code: number; message: string };
  /** Set when a handler failed in a way that is a bug, for the log. */
  internalError?: unknown;
}

export class Dispatcher {
  private readonly table = new Map<string, MethodDef>();

  constructor(private readonly limits?: XmlLimits) {
    this.register('system.listMethods', {
      help: 'The names of all methods of this endpoint.',
      returns: 'array',
      params: [],
      handler: () => this.methods(),
    });
    this.register('system.methodHelp', {
      help: 'What a method does.',
      returns: 'string',
      params: [{ name: 'method', type: 'string' }],
      handler: ([name]) => this.lookup(name as string).help,
    });
    this.register('system.methodSignature', {
      help: 'The result and parameter types of a method.',
      returns: 'array',
      params: [{ name: 'method', type: 'string' }],
      handler: ([name]) => {
        const def = this.lookup(name as string);
        const all = [def.returns, ...def.params.map((p) => (p.type === 'string[]' ? 'array' : p.type))];
        const required = [def.returns, ...def.params.filter((p) => !p.optional).map((p) => (p.type === 'string[]' ? 'array' : p.type))];
        return all.length === required.length ? [all] : [required, all];
      },
    });
  }

  register(name: string, def: MethodDef): void {
    if (this.table.has(name)) throw new Error(`XML-RPC method ${name} registered twice`);
    this.table.set(name, def);
  }

  methods(): string[] {
    return [...this.table.keys()].sort();
  }

  /** Never throws: every outcome, a bug included, is a methodResponse. */
  async handle(body: string, ctx: CallContext): Promise<DispatchResult> {
    let method: string | undefined;
    try {
      const call = parseMethodCall(body, this.limits);
      method = call.methodName;
      const def = this.lookup(method);
      checkParams(method, def.params, call.params);
      const value = await def.handler(call.params, ctx);
      return { xml: encodeResponse(value), method };
    } catch (err) {
      const fault = err instanceof XmlRpcFault ? err : new XmlRpcFault(FAULT.internal, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      return {
        xml: encodeFault(fault.code, fault.message),
        fault: { code: fault.code, message: fault.message },
        ...(method === undefined ? {} : { method }),
        ...(err instanceof XmlRpcFault ? {} : { internalError: err }),
      };
    }
  }

  private lookup(name: string): MethodDef {
    const def = this.table.get(name);
    if (def === undefined) throw new XmlRpcFault(FAULT.methodNotFound, `no method "${name.slice(0, 128)}" (system.listMethods lists them)`);
    return def;
  }
}

function checkParams(method: string, specs: readonly ParamSpec[], params: readonly XmlRpcValue[]): void {
  const min = specs.filter((p) => !p.optional).length;
  if (params.length < min || params.length > specs.length) {
    const wanted = specs.map((p) => `${p.name}: ${describeType(p.type)}${p.optional ? '?' : ''}`).join(', ');
    const count = min === specs.length ? `${min}` : `${min} to ${specs.length}`;
    throw new XmlRpcFault(FAULT.invalidParams, `${method} takes ${count} parameter${specs.length === 1 ? '' : 's'} (${wanted || 'none'}), got ${params.length}`);
  }
  specs.forEach((spec, i) => {
    const v = params[i];
    if (v === undefined) return;
    if (!matches(spec.type, v)) wrongType(`${method} parameter ${i + 1} (${spec.name})`, describeType(spec.type), v);
  });
}
