/**
 * Fuzz: 12,000 seeded inputs (mutated valid calls, random markup soup,
 * hostile constructs) through the reader, the codec and the dispatcher.
 * Nothing but an XmlRpcFault may escape the parser, and every input the
 * dispatcher gets yields a well-formed methodResponse (a fault for every bad
 * one). Plus a property test: random values round-trip exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Dispatcher,
  XmlRpcFault,
  encodeMethodCall,
  encodeResponse,
  parseMethodCall,
  parseMethodResponse,
  type XmlRpcValue,
} from '../../src/agent/xmlrpc/index.js';
import { prng } from './prng.js';

type Rng = ReturnType<typeof prng>;

const TOKENS = [
  '<', '>', '/', '&', ';', '"', "'", '=', ' ', '\n', '\r', '\t', '&amp;', '&lt;', '&#x41;', '&#0;', '&#xD800;', '&#1114112;', '&bogus;',
  '<!DOCTYPE x [<!ENTITY e "e">]>', '<!ENTITY a "&a;&a;">', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<?pi x?>',
  '<value>', '</value>', '<struct>', '</struct>', '<member>', '</member>', '<name>', '</name>', '<array>', '</array>', '<data>', '</data>',
  '<int>', '</int>', '<i4>', '<boolean>', '<double>', '<string>', '<base64>', '<dateTime.iso8601>', '<nil/>', '<params>', '<param>',
  '<methodCall>', '</methodCall>', '<methodName>', '</methodName>', 'x="1"', '99999999999', '-0', '1e999', '20240230T10:00:00', '====',
  '\u0000', '\uD800', '\uFFFE', 'é', '𝄞', '\uFEFF',
];

function randomValue(r: Rng, depth = 0): XmlRpcValue {
  const kind = r.int(depth > 3 ? 7 : 10);
  switch (kind) {
    case 0:
      return r.int(2) === 0 ? r.int(1000) - 500 : r.int(2 ** 31) * (r.int(2) === 0 ? 1 : -1);
    case 1:
      return r.int(2) === 0;
    case 2:
      return Array.from({ length: r.int(12) }, () => r.pick(['a', '<', '&', ' ', '\n', '\r', 'é', '𝄞', ']]>', '"', 'z'])).join('');
    case 3:
      return (r.next() - 0.5) * 10 ** r.int(30);
    case 4:
      return new Date(Date.UTC(1970 + r.int(120), r.int(12), 1 + r.int(28), r.int(24), r.int(60), r.int(60)));
    case 5:
      return new Uint8Array(Array.from({ length: r.int(9) }, () => r.int(256)));
    case 6:
      return null;
    case 7:
    case 8:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: {
      const s: Record<string, XmlRpcValue> = {};
      for (let i = r.int(4); i > 0; i--) s[`k${r.int(100)}${r.pick(['', '<', '&', ' '])}`] = randomValue(r, depth + 1);
      return s;
    }
  }
}

function mutate(r: Rng, text: string): string {
  let t = text;
  for (let n = 1 + r.int(4); n > 0; n--) {
    const at = r.int(t.length + 1);
    switch (r.int(6)) {
      case 0: // flip one character
        t = t.slice(0, at) + String.fromCharCode(r.int(128)) + t.slice(at + 1);
        break;
      case 1: // delete a range
        t = t.slice(0, at) + t.slice(at + 1 + r.int(20));
        break;
      case 2: // insert a token
        t = t.slice(0, at) + r.pick(TOKENS) + t.slice(at);
        break;
      case 3: // duplicate a range
        t = t.slice(0, at) + t.slice(at, at + r.int(40)) + t.slice(at);
        break;
      case 4: // truncate
        t = t.slice(0, at);
        break;
      default: // swap two halves
        t = t.slice(at) + t.slice(0, at);
    }
  }
  return t;
}

function soup(r: Rng): string {
  return Array.from({ length: 1 + r.int(40) }, () => r.pick(TOKENS)).join('');
}

/** The hostile shapes, each with random sizes. */
function hostile(r: Rng): string {
  const n = 1 + r.int(2000);
  switch (r.int(5)) {
    case 0:
      return `<!DOCTYPE m [${'<!ENTITY a "&a;&a;">'.repeat(1 + r.int(10))}]><methodCall><methodName>&a;</methodName></methodCall>`;
    case 1:
      return `<methodCall><methodName>m</methodName><params><param>${'<value><array><data>'.repeat(n)}`;
    case 2:
      return `<methodCall><methodName>${'x'.repeat(n)}</methodName></methodCall>`;
    case 3:
      return `<methodCall><methodName>m</methodName><params>${'<param><value><i4>1</i4></value></param>'.repeat(n)}</params></methodCall>`;
    default:
      return `<methodCall><methodName>m</methodName><params><param><value><string>${'&#x'.repeat(r.int(3))}${'A'.repeat(n)}</string></value></param></params></methodCall>`;
  }
}

describe('fuzz: the XML-RPC reader and dispatcher take anything', () => {
  it('12,000 inputs: only faults escape, every response is well-formed, bad inputs get faults', async () => {
    const r = prng(0x5eed);
    const dispatcher = new Dispatcher();
    dispatcher.register('fuzz.echo', { help: 'echo', returns: 'array', params: [{ name: 'v', type: 'array' }], handler: ([v]) => v ?? null });
    const corpus = Array.from({ length: 50 }, () => encodeMethodCall(r.pick(['fuzz.echo', 'system.listMethods', 'm']), [Array.from({ length: r.int(3) }, () => randomValue(r))]));
    let accepted = 0;
    let faults = 0;
    const N = 12_000;
    for (let i = 0; i < N; i++) {
      const pick = r.int(10);
      const input = pick < 6 ? mutate(r, r.pick(corpus)) : pick < 8 ? soup(r) : pick < 9 ? hostile(r) : r.pick(corpus);
      let parsedOk = false;
      try {
        parseMethodCall(input);
        parsedOk = true;
      } catch (err) {
        assert.ok(err instanceof XmlRpcFault, `input #${i} threw ${String(err)}: ${JSON.stringify(input.slice(0, 200))}`);
      }
      const res = await dispatcher.handle(input, { remoteAddress: 'fuzz', user: 'fuzz' });
      assert.equal(res.internalError, undefined, `input #${i} hit a bug: ${String(res.internalError)}`);
      const back = parseMethodResponse(res.xml);
      if (!parsedOk) assert.ok(back.fault, `input #${i} was refused by the parser but answered without a fault`);
      if (back.fault) faults++;
      else accepted++;
    }
    assert.equal(accepted + faults, N);
    assert.ok(accepted > 100, `only ${accepted} inputs were valid calls: the fuzzer barely reaches the methods`);
    assert.ok(faults > N / 2, `only ${faults} faults`);
  });

  it('2,000 random values round-trip exactly through a call and a response', () => {
    const r = prng(0xc0de);
    for (let i = 0; i < 2000; i++) {
      const v = randomValue(r);
      assert.deepEqual(parseMethodCall(encodeMethodCall('a.b', [v])).params[0], normalise(v), `value #${i}`);
      const res = parseMethodResponse(encodeResponse(v));
      assert.ok(!res.fault);
      assert.deepEqual(res.value, normalise(v));
    }
  });
});

/** What the decoder returns for a value: structs without prototype, \r kept (it is sent as &#13;). */
function normalise(v: XmlRpcValue): XmlRpcValue {
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    const out = Object.create(null) as Record<string, XmlRpcValue>;
    for (const [k, x] of Object.entries(v)) out[k] = normalise(x);
    return out;
  }
  return v;
}
