/**
 * The XML-RPC codec against the spec's own examples, Python's xmlrpc.client
 * as a foreign encoder/decoder (run as a subprocess, no network), and the
 * hostile inputs the strict reader must refuse.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  FAULT,
  XmlRpcFault,
  encodeFault,
  encodeMethodCall,
  encodeResponse,
  parseMethodCall,
  parseMethodResponse,
  parseXml,
  type XmlRpcValue,
} from '../../src/agent/xmlrpc/index.js';

function faultOf(fn: () => unknown): XmlRpcFault {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof XmlRpcFault, `expected an XmlRpcFault, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a fault');
}

const call = (inner: string) => `<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param><value>${inner}</value></param></params></methodCall>`;
const one = (inner: string) => parseMethodCall(call(inner)).params[0];

describe('XML-RPC: the spec examples', () => {
  it('reads the spec\'s request example', () => {
    const c = parseMethodCall(`<?xml version="1.0"?>
<methodCall>
   <methodName>examples.getStateName</methodName>
   <params>
      <param>
         <value><i4>41</i4></value>
         </param>
      </params>
   </methodCall>`);
    assert.deepEqual(c, { methodName: 'examples.getStateName', params: [41] });
  });

  it('reads the spec\'s fault example', () => {
    const r = parseMethodResponse(`<?xml version="1.0"?>
<methodResponse>
   <fault>
      <value>
         <struct>
            <member><name>faultCode</name><value><int>4</int></value></member>
            <member><name>faultString</name><value><string>Too many parameters.</string></value></member>
            </struct>
         </value>
      </fault>
   </methodResponse>`);
    assert.deepEqual(r, { fault: true, code: 4, message: 'Too many parameters.' });
  });

  it('reads every scalar type, bare strings and nil', () => {
    assert.equal(one('<int>-7</int>'), -7);
    assert.equal(one('<i4>+2147483647</i4>'), 2147483647);
    assert.equal(one('<boolean>1</boolean>'), true);
    assert.equal(one('<boolean>0</boolean>'), false);
    assert.equal(one('<string> spaced </string>'), ' spaced ');
    assert.equal(one('bare text'), 'bare text');
    assert.equal(one(''), '');
    assert.equal(one('<double>-12.214</double>'), -12.214);
    assert.equal(one('<double>1e+100</double>'), 1e100);
    assert.deepEqual(one('<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>'), new Date(Date.UTC(1998, 6, 17, 14, 8, 55)));
    assert.deepEqual(one('<dateTime.iso8601>1998-07-17T16:08:55+02:00</dateTime.iso8601>'), new Date(Date.UTC(1998, 6, 17, 14, 8, 55)));
    assert.deepEqual(one('<base64>eW91IGNhbid0IHJlYWQgdGhpcyE=</base64>'), new Uint8Array(Buffer.from("you can't read this!")));
    assert.equal(one('<nil/>'), null);
    assert.equal(one('<string>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;</string>'), 'a <b> & "c" \'d\' AB');
    assert.equal(one('<string><![CDATA[<raw> & ]]></string>'), '<raw> & ');
  });

  it('reads structs and arrays, nested', () => {
    const v = one('<struct><member><name>lowerBound</name><value><i4>18</i4></value></member><member><name>list</name><value><array><data><value>a</value><value><int>1</int></value><value><array><data></data></array></value></data></array></value></member></struct>');
    assert.deepEqual({ ...(v as object) }, { lowerBound: 18, list: ['a', 1, []] });
  });

  it('keeps "__proto__" as a plain member name', () => {
    const v = one('<struct><member><name>__proto__</name><value>x</value></member></struct>') as Record<string, XmlRpcValue>;
    assert.equal(v.__proto__, 'x');
    assert.equal(Object.getPrototypeOf(v), null);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('XML-RPC: encoding round-trips', () => {
  const samples: XmlRpcValue[] = [
    0, -1, 2147483647, -2147483648, 2147483648, 1.5, -0.25, 1e300, true, false, '', 'x<y&z>', 'line\r\nbreak\rcr', 'ünïcødé ✓ 𝄞',
    new Date(Date.UTC(2024, 1, 29, 23, 59, 59)), new Uint8Array([0, 1, 254, 255]), null, [], [1, 'a', [true]],
  ];
  for (const s of samples) {
    it(`round-trips ${JSON.stringify(s instanceof Uint8Array ? [...s] : s)}`, () => {
      assert.deepEqual(parseMethodCall(encodeMethodCall('a.b', [s])).params[0], s);
      const r = parseMethodResponse(encodeResponse(s));
      assert.deepEqual(r, { fault: false, value: s });
    });
  }

  it('round-trips a struct of everything', () => {
    const s: XmlRpcValue = { a: 1, 'we ird<>': 'v', nested: { deeper: [1, 2, { x: null }] } };
    const back = parseMethodResponse(encodeResponse(s));
    assert.equal(back.fault, false);
    assert.deepEqual(JSON.parse(JSON.stringify(back.fault ? null : back.value)), s);
  });

  it('encodes faults, replacing characters XML cannot carry', () => {
    assert.deepEqual(parseMethodResponse(encodeFault(-32601, 'no method "x\u0001"')), { fault: true, code: -32601, message: 'no method "x\uFFFD"' });
  });

  it('refuses to encode what XML-RPC cannot carry', () => {
    assert.equal(faultOf(() => encodeResponse(NaN)).code, FAULT.internal);
    assert.equal(faultOf(() => encodeResponse('bell\u0007')).code, FAULT.internal);
    assert.equal(faultOf(() => encodeMethodCall('bad name!', [])).code, FAULT.internal);
  });
});

describe('XML-RPC: the strict reader refuses', () => {
  const cases: [string, string, RegExp][] = [
    ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY a "b">]><methodCall><methodName>m</methodName></methodCall>', /DOCTYPE/],
    ['billion laughs', '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>', /DOCTYPE/],
    ['an external entity', '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>', /DOCTYPE/],
    ['an undeclared entity', call('<string>&xxe;</string>'), /no entity expansion/],
    ['a bare ampersand', call('<string>a & b</string>'), /no known reference/],
    ['attributes', '<methodCall xmlns="x"><methodName>m</methodName></methodCall>', /attributes/],
    ['processing instructions', '<methodCall><?php echo 1 ?><methodName>m</methodName></methodCall>', /processing instructions/],
    ['another encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>m</methodName></methodCall>', /only UTF-8/],
    ['mismatched tags', '<methodCall><methodName>m</methodCall></methodName>', /closes/],
    ['an unclosed element', '<methodCall><methodName>m</methodName>', /not closed/],
    ['two roots', '<methodCall><methodName>m</methodName></methodCall><methodCall/>', /second root/],
    ['text outside the root', 'junk<methodCall><methodName>m</methodName></methodCall>', /outside the root/],
    ['a NUL character', call('<string>\u0000</string>'), /not allowed in XML/],
    ['a reference to a non-character', call('<string>&#0;</string>'), /not an XML character/],
    ['an empty document', '', /no root/],
  ];
  for (const [what, xml, message] of cases) {
    it(what, () => {
      const f = faultOf(() => parseMethodCall(xml));
      assert.equal(f.code, FAULT.parse);
      assert.match(f.message, message);
    });
  }

  it('nesting beyond the depth limit, without overflowing the stack', () => {
    const deep = `${'<value><array><data>'.repeat(50_000)}${'</data></array></value>'.repeat(50_000)}`;
    const f = faultOf(() => parseMethodCall(`<methodCall><methodName>m</methodName><params><param>${deep}</param></params></methodCall>`));
    assert.match(f.message, /nested deeper than 64/);
  });

  it('more elements than the limit', () => {
    const many = '<value><int>1</int></value>'.repeat(60);
    const f = faultOf(() => parseXml(`<a>${many}</a>`, { maxChars: 1e6, maxDepth: 64, maxElements: 100 }));
    assert.match(f.message, /more than 100 elements/);
  });

  it('documents larger than the limit', () => {
    const f = faultOf(() => parseXml(`<a>${'x'.repeat(2000)}</a>`, { maxChars: 1000, maxDepth: 64, maxElements: 100 }));
    assert.match(f.message, /larger than 1000/);
  });
});

describe('XML-RPC: wrong shapes and types get invalid-request faults that say where', () => {
  const cases: [string, string, RegExp][] = [
    ['not a methodCall', '<methodResponse/>', /expected <methodCall>/],
    ['no methodName', '<methodCall><params/></methodCall>', /first element must be <methodName>/],
    ['a bad method name', '<methodCall><methodName>a b</methodName></methodCall>', /not a method name/],
    ['an unknown type', call('<bigint>1</bigint>'), /unknown value type <bigint>/],
    ['an int that is not', call('<int>12a</int>'), /params\[0\]: <int> holds "12a"/],
    ['an int out of range', call('<i4>2147483648</i4>'), /outside the 32-bit range/],
    ['a boolean of 2', call('<boolean>2</boolean>'), /expected 0 or 1/],
    ['a double that is not', call('<double>1.2.3</double>'), /not a number/],
    ['an infinite double', call('<double>1e999</double>'), /out of range/],
    ['an impossible date', call('<dateTime.iso8601>20230230T10:00:00</dateTime.iso8601>'), /not a real date/],
    ['bad base64', call('<base64>abc</base64>'), /not valid base64/],
    ['a duplicate member', call('<struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct>'), /appears twice/],
    ['a member without value', call('<struct><member><name>a</name></member></struct>'), /<name> then <value>/],
    ['an array without data', call('<array><value>1</value></array>'), /must hold <data>/],
    ['two types in one value', call('<int>1</int><int>2</int>'), /exactly one element/],
    ['text beside a type', call('x<int>1</int>'), /only elements belong/],
    ['a nested member error, with its path', call('<struct><member><name>areas</name><value><struct><member><name>rules</name><value><int>x</int></value></member></struct></value></member></struct>'), /params\[0\]\.areas\.rules: <int> holds "x"/],
  ];
  for (const [what, xml, message] of cases) {
    it(what, () => {
      const f = faultOf(() => parseMethodCall(xml));
      assert.equal(f.code, FAULT.invalidRequest, f.message);
      assert.match(f.message, message);
    });
  }
});

describe('XML-RPC: interoperates with Python\'s xmlrpc.client (no network)', () => {
  const python = spawnSync('python3', ['-c', 'import xmlrpc.client'], { encoding: 'utf8' });
  const skip = python.status === 0 ? false : 'python3 with xmlrpc.client is not available';

  function py(script: string, input: string): string {
    const r = spawnSync('python3', ['-c', script], { input, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }

  it('reads what Python writes', { skip }, () => {
    const xml = py(
      `import sys, xmlrpc.client, datetime
print(xmlrpc.client.dumps(({'areas': {'rules': '[rule "a"]\\ninterface = LAN\\n'}, 'n': 42, 'f': 2.5, 'b': True, 'l': [1, 'x', None],
  'd': xmlrpc.client.DateTime(datetime.datetime(2024, 5, 6, 7, 8, 9)), 'raw': xmlrpc.client.Binary(b'\\x00\\xff'), 'lt': '<&>'},), 'carpenter.replaceAreas', allow_none=True), end='')`,
      '',
    );
    const c = parseMethodCall(xml);
    assert.equal(c.methodName, 'carpenter.replaceAreas');
    const p = c.params[0] as Record<string, XmlRpcValue>;
    assert.deepEqual({ ...(p.areas as object) }, { rules: '[rule "a"]\ninterface = LAN\n' });
    assert.equal(p.n, 42);
    assert.equal(p.f, 2.5);
    assert.equal(p.b, true);
    assert.deepEqual(p.l, [1, 'x', null]);
    assert.deepEqual(p.d, new Date(Date.UTC(2024, 4, 6, 7, 8, 9)));
    assert.deepEqual(p.raw, new Uint8Array([0, 255]));
    assert.equal(p.lt, '<&>');
  });

  it('writes what Python reads', { skip }, () => {
    const out = py(
      `import sys, xmlrpc.client
(v,), m = xmlrpc.client.loads(sys.stdin.read(), use_builtin_types=True)
print(repr(v))`,
      encodeResponse({ revision: 12, ok: true, text: 'a\r\nb <c>', when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), raw: new Uint8Array([1, 2]), big: 3e9, list: ['x', 1.5] }),
    );
    assert.equal(out.trim(), "{'revision': 12, 'ok': True, 'text': 'a\\r\\nb <c>', 'when': datetime.datetime(2024, 1, 2, 3, 4, 5), 'raw': b'\\x01\\x02', 'big': 3000000000.0, 'list': ['x', 1.5]}");
  });

  it('Python reads our faults as Fault', { skip }, () => {
    const out = py(
      `import sys, xmlrpc.client
try:
  xmlrpc.client.loads(sys.stdin.read())
except xmlrpc.client.Fault as f:
  print(f.faultCode, f.faultString)`,
      encodeFault(FAULT.versionMismatch, 'fw2 runs carpd 1.0.0'),
    );
    assert.equal(out.trim(), '1 fw2 runs carpd 1.0.0');
  });
});
