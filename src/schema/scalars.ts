import { type GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { badUserInput } from '../errors/gateway-error.js';

/**
 * The two custom scalars of the public API. Written here rather than taken from a scalar
 * library: each is a few lines, and owning them keeps their error messages and limits ours.
 */

/**
 * Input that a scalar refuses. graphql-js wraps it in the variable or literal error and keeps
 * its extensions, so the caller sees BAD_USER_INPUT rather than a masked error. A GatewayError:
 * its message is ours and never quotes the value, so a variable's error may keep it.
 */
function invalid(message: string): GraphQLError {
  return badUserInput(message);
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'A moment in time, as an ISO-8601 string in UTC (for example `2026-11-29T12:00:00.000Z`).',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent an invalid date.');
    return date.toISOString();
  },
  parseValue(value) {
    return parseDateTime(value);
  },
  parseLiteral(ast) {
    return parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined);
  },
});

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalid('DateTime must be an ISO-8601 date-time string.');
  return date;
}

type JsonObject = Record<string, unknown>;

/**
 * How deeply a JSONObject may nest (objects and lists). MyPreferences records are a few levels
 * deep; past this a value is refused before anything walks it recursively (serialising it
 * upstream would otherwise overflow the stack).
 */
const MAX_JSON_DEPTH = 64;

export const JSONObjectScalar = new GraphQLScalarType<JsonObject, JsonObject>({
  name: 'JSONObject',
  description: 'Any JSON object (not an array, string or null), passed through unchanged.',
  serialize(value) {
    if (!isObject(value)) throw new TypeError('JSONObject cannot represent a non-object value.');
    return value;
  },
  parseValue(value) {
    return asObject(value);
  },
  parseLiteral(ast, variables) {
    if (ast.kind !== Kind.OBJECT) throw invalid('JSONObject must be an object.');
    // The document's own nesting is bounded by the token and depth limits; variables inside it are checked here.
    return asObject(literalValue(ast, variables));
  },
});

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown): JsonObject {
  if (!isObject(value)) throw invalid('JSONObject must be an object.');
  if (depthExceeds(value, MAX_JSON_DEPTH)) throw invalid(`JSONObject may nest at most ${MAX_JSON_DEPTH} levels deep.`);
  return value;
}

/** Whether `value` nests deeper than `limit`, found without recursion (the point is not to blow the stack). */
function depthExceeds(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth > limit) return true;
    for (const child of Object.values(next.value)) {
      if (typeof child === 'object' && child !== null) pending.push({ value: child, depth: next.depth + 1 });
    }
  }
  return false;
}

/** A JSON value from an inline GraphQL literal, with `$variables` substituted. */
function literalValue(ast: ValueNode, variables: Readonly<Record<string, unknown>> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((item) => literalValue(item, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((field) => [field.name.value, literalValue(field.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}
