/** The method table: introspection, unknown methods, arity and type faults, bugs turned into faults. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher, FAULT, encodeMethodCall, parseMethodResponse, type MethodResponse, type XmlRpcValue } from '../../src/agent/xmlrpc/index.js';

const ctx = { remoteAddress: '172.16.1.1', user: 'admin' };

function table(): Dispatcher {
  const d = new Dispatcher();
  d.register('carpenter.readAreas', {
    help: 'Areas as INI.',
    returns: 'struct',
    params: [{ name: 'areas', type: 'string[]' }],
    handler: ([areas]) => ({ got: areas ?? null }),
  });
  d.register('t.opt', { help: 'optional', returns: 'int', params: [{ name: 'a', type: 'int' }, { name: 'b', type: 'double', optional: true }], handler: ([a, b]) => (a as number) + ((b as number | undefined) ?? 0) });
  d.register('t.bug', { help: 'throws', returns: 'int', params: [], handler: () => { throw new TypeError('oops'); } });
  return d;
}

async function callRaw(d: Dispatcher, name: string, params: XmlRpcValue[]): Promise<MethodResponse> {
  return parseMethodResponse((await d.handle(encodeMethodCall(name, params), ctx)).xml);
}

describe('XML-RPC dispatcher', () => {
  it('lists, explains and types its methods', async () => {
    const d = table();
    assert.deepEqual(await callRaw(d, 'system.listMethods', []), { fault: false, value: ['carpenter.readAreas', 'system.listMethods', 'system.methodHelp', 'system.methodSignature', 't.bug', 't.opt'] });
    assert.deepEqual(await callRaw(d, 'system.methodHelp', ['carpenter.readAreas']), { fault: false, value: 'Areas as INI.' });
    assert.deepEqual(await callRaw(d, 'system.methodSignature', ['carpenter.readAreas']), { fault: false, value: [['struct', 'array']] });
    assert.deepEqual(await callRaw(d, 'system.methodSignature', ['t.opt']), { fault: false, value: [['int', 'int'], ['int', 'int', 'double']] });
  });

  it('calls with optional parameters and ints where doubles are expected', async () => {
    const d = table();
    assert.deepEqual(await callRaw(d, 't.opt', [2]), { fault: false, value: 2 });
    assert.deepEqual(await callRaw(d, 't.opt', [2, 3]), { fault: false, value: 5 });
  });

  it('answers unknown methods with -32601', async () => {
    const r = await callRaw(table(), 'carpenter.nope', []);
    assert.ok(r.fault);
    assert.equal(r.code, FAULT.methodNotFound);
    assert.match(r.message, /no method "carpenter.nope"/);
  });

  it('answers wrong arity and wrong types with -32602 naming the parameter', async () => {
    const d = table();
    const few = await callRaw(d, 'carpenter.readAreas', []);
    assert.ok(few.fault && few.code === FAULT.invalidParams);
    assert.match(few.message, /takes 1 parameter \(areas: array of strings\), got 0/);
    const type = await callRaw(d, 'carpenter.readAreas', [{ rules: 1 }]);
    assert.ok(type.fault && type.code === FAULT.invalidParams);
    assert.match(type.message, /parameter 1 \(areas\): expected array of strings, got struct/);
    const inner = await callRaw(d, 'carpenter.readAreas', [['rules', 3]]);
    assert.ok(inner.fault);
    assert.match(inner.message, /expected array of strings, got array/);
  });

  it('turns a bug in a handler into an internal fault, and says so for the log', async () => {
    const res = await table().handle(encodeMethodCall('t.bug', []), ctx);
    const r = parseMethodResponse(res.xml);
    assert.ok(r.fault && r.code === FAULT.internal);
    assert.match(r.message, /internal error: oops/);
    assert.ok(res.internalError instanceof TypeError);
  });

  it('answers a malformed body with a parse fault', async () => {
    const r = parseMethodResponse((await table().handle('<methodCall>', ctx)).xml);
    assert.ok(r.fault && r.code === FAULT.parse);
  });
});
