/**
 * Is a line of bytes one JSON object? Decided from the bytes alone — no string, no object, no
 * allocation — with exactly `JSON.parse`'s acceptance (RFC 8259) of the line's UTF-8 decoding:
 * bytes of 0x80 and above are accepted inside strings as they are (the decoding replaces an
 * invalid sequence, and an ASCII byte is never part of a multi-byte sequence, so a quote,
 * backslash or control byte means there what it means in ASCII) and refused outside them.
 *
 * An iterative state machine: the open containers are a fixed stack of {@link MAX_JSON_DEPTH}
 * bytes, shared by every call (the check is synchronous, so no two calls overlap).
 */

export type JsonObjectCheck = 'object' | 'not-json' | 'not-object' | 'too-deep';

/** The most containers (objects and arrays, empty ones included) open at once; deeper is `'too-deep'`. */
export const MAX_JSON_DEPTH = 256;

const SPACE = 0x20;
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const IN_OBJECT = 1;
const IN_ARRAY = 2;
const openContainers = new Uint8Array(MAX_JSON_DEPTH);

/** What may follow a backslash in a string: 1 for a one-letter escape, 2 for `u`. */
const ESCAPE = new Uint8Array(256);
for (const letter of '"\\/bfnrt') ESCAPE[letter.charCodeAt(0)] = 1;
ESCAPE[0x75] = 2;

const HEX = new Uint8Array(256);
for (const digit of '0123456789abcdefABCDEF') HEX[digit.charCodeAt(0)] = 1;

/** Whether `bytes[start, end)`, JSON whitespace around it allowed, is exactly one JSON value, and an object. */
export function jsonObjectCheck(bytes: Uint8Array, start: number, end: number): JsonObjectCheck {
  let at = skipWhitespace(bytes, start, end);
  if (at >= end) return 'not-json';
  const topIsObject = bytes[at] === OPEN_BRACE;
  let depth = 0;
  for (;;) {
    // A value starts here (or whitespace before it).
    at = skipWhitespace(bytes, at, end);
    if (at >= end) return 'not-json';
    const first = bytes[at]!;
    if (first === OPEN_BRACE) {
      if (depth === MAX_JSON_DEPTH) return 'too-deep';
      at = skipWhitespace(bytes, at + 1, end);
      if (at < end && bytes[at] === CLOSE_BRACE) {
        at++;
      } else {
        openContainers[depth++] = IN_OBJECT;
        at = memberName(bytes, at, end);
        if (at < 0) return 'not-json';
        continue;
      }
    } else if (first === OPEN_BRACKET) {
      if (depth === MAX_JSON_DEPTH) return 'too-deep';
      at = skipWhitespace(bytes, at + 1, end);
      if (at < end && bytes[at] === CLOSE_BRACKET) {
        at++;
      } else {
        openContainers[depth++] = IN_ARRAY;
        continue;
      }
    } else if (first === QUOTE) {
      at = stringEnd(bytes, at + 1, end);
    } else if (first === 0x74) {
      at = literalEnd(bytes, at, end, 0x72, 0x75, 0x65); // true
    } else if (first === 0x6e) {
      at = literalEnd(bytes, at, end, 0x75, 0x6c, 0x6c); // null
    } else if (first === 0x66) {
      at = end - at >= 5 && bytes[at + 4] === 0x65 && literalEnd(bytes, at, end, 0x61, 0x6c, 0x73) > 0 ? at + 5 : -1; // false
    } else {
      at = numberEnd(bytes, at, end);
    }
    if (at < 0) return 'not-json';
    // A value ended: close containers until one goes on with a comma.
    for (;;) {
      at = skipWhitespace(bytes, at, end);
      if (depth === 0) return at === end ? (topIsObject ? 'object' : 'not-object') : 'not-json';
      if (at >= end) return 'not-json';
      const next = bytes[at]!;
      const inObject = openContainers[depth - 1] === IN_OBJECT;
      if (next === COMMA) {
        at++;
        if (inObject) {
          at = memberName(bytes, skipWhitespace(bytes, at, end), end);
          if (at < 0) return 'not-json';
        }
        break;
      }
      if (next !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return 'not-json';
      at++;
      depth--;
    }
  }
}

function skipWhitespace(bytes: Uint8Array, at: number, end: number): number {
  while (at < end) {
    const byte = bytes[at]!;
    if (byte !== SPACE && byte !== LINE_FEED && byte !== CARRIAGE_RETURN && byte !== TAB) return at;
    at++;
  }
  return at;
}

/** `"name" :` from `at` (whitespace already skipped): the index past the colon, or -1. */
function memberName(bytes: Uint8Array, at: number, end: number): number {
  if (at >= end || bytes[at] !== QUOTE) return -1;
  at = stringEnd(bytes, at + 1, end);
  if (at < 0) return -1;
  at = skipWhitespace(bytes, at, end);
  return at < end && bytes[at] === COLON ? at + 1 : -1;
}

/** A string's rest from just past its opening quote: the index past its closing quote, or -1. */
function stringEnd(bytes: Uint8Array, at: number, end: number): number {
  while (at < end) {
    const byte = bytes[at++]!;
    if (byte === QUOTE) return at;
    if (byte === BACKSLASH) {
      if (at >= end) return -1;
      const escapeKind = ESCAPE[bytes[at++]!];
      if (escapeKind === 0) return -1;
      if (escapeKind === 2) {
        if (end - at < 4 || HEX[bytes[at]!] === 0 || HEX[bytes[at + 1]!] === 0 || HEX[bytes[at + 2]!] === 0 || HEX[bytes[at + 3]!] === 0) return -1;
        at += 4;
      }
    } else if (byte < SPACE) {
      return -1;
    }
  }
  return -1;
}

/** A four-letter literal whose first letter is at `at`: the index past it, or -1. */
function literalEnd(bytes: Uint8Array, at: number, end: number, second: number, third: number, fourth: number): number {
  return end - at >= 4 && bytes[at + 1] === second && bytes[at + 2] === third && bytes[at + 3] === fourth ? at + 4 : -1;
}

/** `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` from `at`: the index past it, or -1. */
function numberEnd(bytes: Uint8Array, at: number, end: number): number {
  if (bytes[at] === MINUS) at++;
  if (at >= end) return -1;
  const lead = bytes[at]!;
  if (lead === ZERO) at++;
  else if (lead > ZERO && lead <= NINE) at = digitsEnd(bytes, at + 1, end);
  else return -1;
  if (at < end && bytes[at] === DOT) {
    const from = at + 1;
    at = digitsEnd(bytes, from, end);
    if (at === from) return -1;
  }
  if (at < end && (bytes[at] === 0x65 || bytes[at] === 0x45)) {
    at++;
    if (at < end && (bytes[at] === PLUS || bytes[at] === MINUS)) at++;
    const from = at;
    at = digitsEnd(bytes, from, end);
    if (at === from) return -1;
  }
  return at;
}

function digitsEnd(bytes: Uint8Array, at: number, end: number): number {
  while (at < end) {
    const byte = bytes[at]!;
    if (byte < ZERO || byte > NINE) return at;
    at++;
  }
  return at;
}
