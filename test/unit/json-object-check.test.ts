import { describe, expect, it } from 'vitest';
import { jsonObjectCheck, MAX_JSON_DEPTH } from '../../src/jobs/json-object-check.js';

/** What JSON.parse of the bytes' UTF-8 decoding makes of them, in the check's terms. */
function byJsonParse(bytes: Buffer): 'object' | 'not-object' | 'not-json' {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? 'object' : 'not-object';
  } catch {
    return 'not-json';
  }
}

const check = (bytes: Buffer) => jsonObjectCheck(bytes, 0, bytes.length);

const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

/** [text or bytes, expected]. Every case is also checked against JSON.parse (except the too-deep ones). */
const cases: [string | Buffer, ReturnType<typeof jsonObjectCheck>][] = [
  // Objects and arrays.
  ['{}', 'object'],
  ['[]', 'not-object'],
  ['{"a":1}', 'object'],
  ['{"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":false}}', 'object'],
  ['{"a":[],"b":{},"c":[[]],"d":[{}]}', 'object'],
  ['{"a":1,}', 'not-json'],
  ['[1,]', 'not-json'],
  ['[,1]', 'not-json'],
  ['[1,,2]', 'not-json'],
  ['{,}', 'not-json'],
  ['{"a"}', 'not-json'],
  ['{"a":}', 'not-json'],
  ['{"a" 1}', 'not-json'],
  ['{"a"::1}', 'not-json'],
  ['{a:1}', 'not-json'],
  ["{'a':1}", 'not-json'],
  ['{1:1}', 'not-json'],
  ['{"a":1 "b":2}', 'not-json'],
  ['{"a":1,"a":2}', 'object'],
  ['[1 2]', 'not-json'],
  ['{"a":1]', 'not-json'],
  ['[1}', 'not-json'],
  ['{"a":[1}', 'not-json'],
  ['{', 'not-json'],
  ['}', 'not-json'],
  ['[', 'not-json'],
  ['{"a":1', 'not-json'],
  ['{"a":1}}', 'not-json'],
  ['{"a":1}{}', 'not-json'],
  ['{"a":1},', 'not-json'],
  ['{"a":1} x', 'not-json'],
  ['{"a":1}\0', 'not-json'],
  // Whitespace.
  ['', 'not-json'],
  [' \t\r\n', 'not-json'],
  [' \t\r\n{ "a" : [ 1 , 2 ] , "b" : { } }\r\n\t ', 'object'],
  ['\f{}', 'not-json'],
  ['{}\v', 'not-json'],
  ['\u00a0{}', 'not-json'],
  ['{}\u2028', 'not-json'],
  ['\uFEFF{}', 'not-json'],
  // Scalars at the top.
  ['1', 'not-object'],
  ['"x"', 'not-object'],
  ['true', 'not-object'],
  ['false', 'not-object'],
  ['null', 'not-object'],
  ['  null  ', 'not-object'],
  ['nul', 'not-json'],
  ['nulll', 'not-json'],
  ['tru', 'not-json'],
  ['True', 'not-json'],
  ['fals', 'not-json'],
  ['falsy', 'not-json'],
  ['f', 'not-json'],
  ['NaN', 'not-json'],
  ['Infinity', 'not-json'],
  ['undefined', 'not-json'],
  ['{"a":nulls}', 'not-json'],
  ['{"a":truefalse}', 'not-json'],
  ['[true,false,null]', 'not-object'],
  // Numbers.
  ['{"n":0}', 'object'],
  ['{"n":-0}', 'object'],
  ['{"n":1e5}', 'object'],
  ['{"n":1E+5}', 'object'],
  ['{"n":1e-5}', 'object'],
  ['{"n":-12.34e-56}', 'object'],
  ['{"n":0.5}', 'object'],
  ['{"n":1e999}', 'object'],
  ['{"n":-1e-999}', 'object'],
  ['{"n":123456789012345678901234567890}', 'object'],
  ['{"n":01}', 'not-json'],
  ['{"n":-01}', 'not-json'],
  ['{"n":00}', 'not-json'],
  ['{"n":1.}', 'not-json'],
  ['{"n":.5}', 'not-json'],
  ['{"n":-}', 'not-json'],
  ['{"n":-.5}', 'not-json'],
  ['{"n":+1}', 'not-json'],
  ['{"n":1e}', 'not-json'],
  ['{"n":1e+}', 'not-json'],
  ['{"n":1.e5}', 'not-json'],
  ['{"n":1.5.5}', 'not-json'],
  ['{"n":1e5e5}', 'not-json'],
  ['{"n":0x10}', 'not-json'],
  ['{"n":1_000}', 'not-json'],
  ['{"n":--1}', 'not-json'],
  ['-', 'not-json'],
  ['-0', 'not-object'],
  ['1e', 'not-json'],
  ['1.', 'not-json'],
  ['12', 'not-object'],
  ['0', 'not-object'],
  // Strings and every escape.
  ['{"s":"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\uABCD \\uabcd"}', 'object'],
  ['{"s":"\\uD800"}', 'object'],
  ['{"s":"\\uDC00\\uD800"}', 'object'],
  ['{"s":"\\u12"}', 'not-json'],
  ['{"s":"\\u12G4"}', 'not-json'],
  ['{"s":"\\u"}', 'not-json'],
  ['{"s":"\\U0041"}', 'not-json'],
  ['{"s":"\\x41"}', 'not-json'],
  ['{"s":"\\a"}', 'not-json'],
  ['{"s":"\\v"}', 'not-json'],
  ['{"s":"\\0"}', 'not-json'],
  ['{"s":"\\\'"}', 'not-json'],
  ['{"s":"\\', 'not-json'],
  ['{"s":"\\"}', 'not-json'],
  ['{"s":"x}', 'not-json'],
  ['{"s":"a\tb"}', 'not-json'],
  ['{"s":"a\nb"}', 'not-json'],
  ['{"s":"a\0b"}', 'not-json'],
  ['{"s":"a\u001fb"}', 'not-json'],
  ['{"s":"a\u007fb"}', 'object'],
  ['{"s":"a b"}', 'object'],
  ['{"\\u0000":"\\u001f"}', 'object'],
  ['{"a\tb":1}', 'not-json'],
  ['""', 'not-object'],
  ['"', 'not-json'],
  // Non-ASCII: anything inside strings, nothing outside.
  ['{"é":"Ünïcödé 日本 😀"}', 'object'],
  [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x80, 0xc0, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), 'object'],
  [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]), 'object'], // a truncated sequence does not swallow the closing quote
  [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x22, 0x7d]), 'not-json'],
  [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x22, 0x7d]), 'object'],
  [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x22, 0x7d, 0x22, 0x7d]), 'not-json'],
  ['{"a":1}é', 'not-json'],
  ['é{"a":1}', 'not-json'],
  ['{"a":é}', 'not-json'],
  ['{"a":1,é}', 'not-json'],
  [Buffer.from([0x7b, 0x7d, 0xff]), 'not-json'],
  [Buffer.from([0xc2, 0xa0, 0x7b, 0x7d]), 'not-json'],
  // Nesting.
  [nested(MAX_JSON_DEPTH), 'not-object'],
  [nested(MAX_JSON_DEPTH - 1, '[]'), 'not-object'],
  [nestedObjects(MAX_JSON_DEPTH), 'object'],
  [`{"a":${nested(MAX_JSON_DEPTH - 1)}}`, 'object'],
  [nested(MAX_JSON_DEPTH + 1), 'too-deep'],
  [nested(MAX_JSON_DEPTH, '[]'), 'too-deep'],
  [nested(MAX_JSON_DEPTH, '{}'), 'too-deep'],
  [nestedObjects(MAX_JSON_DEPTH + 1), 'too-deep'],
  [`{"a":${nested(MAX_JSON_DEPTH)}}`, 'too-deep'],
  [nested(100_000), 'too-deep'],
  [nested(MAX_JSON_DEPTH, '1,]'), 'not-json'],
];

describe('jsonObjectCheck', () => {
  it.each(cases.map(([input, expected]) => [typeof input === 'string' ? input.slice(0, 60) : input.toString('hex'), input, expected] as const))(
    '%s',
    (_name, input, expected) => {
      const bytes = typeof input === 'string' ? Buffer.from(input) : input;
      expect(check(bytes)).toBe(expected);
      if (expected !== 'too-deep') expect(byJsonParse(bytes)).toBe(expected);
    },
  );

  it('reads only bytes[start, end)', () => {
    const bytes = Buffer.from('xx {"a":[1,2]} yy');
    expect(jsonObjectCheck(bytes, 2, 15)).toBe('object');
    expect(jsonObjectCheck(bytes, 3, 14)).toBe('object');
    expect(jsonObjectCheck(bytes, 3, 13)).toBe('not-json');
    expect(jsonObjectCheck(bytes, 4, 14)).toBe('not-json');
    expect(jsonObjectCheck(bytes, 1, 15)).toBe('not-json');
    expect(jsonObjectCheck(Buffer.from('{"a":1}'), 0, 6)).toBe('not-json');
    expect(jsonObjectCheck(Buffer.from('{"a":12}'), 5, 6)).toBe('not-object');
    expect(jsonObjectCheck(Buffer.from('"\\u0041"'), 0, 7)).toBe('not-json');
    expect(jsonObjectCheck(Buffer.from('true'), 0, 3)).toBe('not-json');
    expect(jsonObjectCheck(Buffer.from('false'), 0, 4)).toBe('not-json');
    expect(jsonObjectCheck(Buffer.from('1e5'), 0, 2)).toBe('not-json');
  });

  it('answers as JSON.parse does on mutations of record lines and on random bytes', () => {
    // mulberry32: a small deterministic generator, so a failure is reproducible.
    let seed = 0x5eed_1e55;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const below = (n: number) => Math.floor(random() * n);
    // Bytes that matter to the grammar, often; any byte, sometimes.
    const interesting = Buffer.from(' \t\r\n{}[]:,"\\/bfnrtu0123456789abcdefABCDEF-+.eE0xlsavU\'\x00\x1f\x7f');
    const randomByte = () => (random() < 0.8 ? interesting[below(interesting.length)]! : below(256));

    const seeds = [
      { ProfileId: 'p-1', Emails: [{ EmailAddress: 'person1@example.com' }], Preferences: [{ Name: 'Newsletter', Value: 'Yes' }] },
      { Emails: [{ EmailAddress: 'anonymous41@example.com' }] },
      { ProfileId: 'p-37', Consents: [{ Name: 'Marketing', Prior: true }] },
      { s: 'é\u0000"\\/\b\f\n\r\t\u2028😀', n: [-0, 1e21, -1.5e-7, 0.25, 12345], z: [null, true, false, {}, []], q: { r: { s: [[[1]]] } } },
    ].map((value) => JSON.stringify(value));
    seeds.push(' { "a" : [ 1 , 2.5e+3 , "x\\u00e9" ] , "b" : { "c" : null } } ', '{"\\ud83d\\ude00":"\\uDE00"}', '[{"a":1}]', '"str"');

    let disagreements = 0;
    const failures: string[] = [];
    const compare = (bytes: Buffer) => {
      const ours = check(bytes);
      const theirs = byJsonParse(bytes);
      if (ours !== theirs) {
        disagreements++;
        if (failures.length < 5) failures.push(`${bytes.toString('hex')}: ours ${ours}, JSON.parse ${theirs}`);
      }
    };

    for (let round = 0; round < 60_000; round++) {
      let bytes = Buffer.from(seeds[below(seeds.length)]!);
      const mutations = 1 + below(random() < 0.7 ? 1 : 4);
      for (let m = 0; m < mutations; m++) {
        const at = below(bytes.length + 1);
        const kind = below(3);
        if (kind === 0) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([randomByte()]), bytes.subarray(at)]);
        else if (kind === 1 && bytes.length > 0) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        else if (at < bytes.length) {
          bytes = Buffer.from(bytes);
          bytes[at] = randomByte();
        }
      }
      compare(bytes);
    }
    for (let round = 0; round < 60_000; round++) {
      const bytes = Buffer.alloc(below(9));
      for (let at = 0; at < bytes.length; at++) bytes[at] = randomByte();
      compare(bytes);
    }
    expect(failures).toEqual([]);
    expect(disagreements).toBe(0);
  });
});
