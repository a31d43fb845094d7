// The two borders of CEL: what goes in (arbitrary Segment JSON, made safe and bounded) and what
// comes out (plain JSON that TaskRouter accepts as task attributes).

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Caps applied to every input value. Rules run on every task; an expression that iterates a list
 * (`exists`, `all`, `map`) costs in proportion to its size, and a regular expression in proportion
 * to the string it scans, so the size of customer-supplied data is bounded before CEL sees it.
 * Real profiles are far below these numbers.
 */
export const INPUT_LIMITS = {
  maxDepth: 16,
  maxEntries: 1_000,
  maxStringLength: 4_096,
} as const;

/** Thrown by {@link toJsonValue}; the engine turns it into an explanation, never a failed task. */
export class UnsupportedValueError extends Error {
  override readonly name = 'UnsupportedValueError';
}

/**
 * Normalises one input value. JSON numbers stay JS numbers, which CEL treats as `double` (CEL's
 * own JSON mapping); Dates become ISO strings so `timestamp(x)` works whatever the caller passed.
 * Anything that is not JSON is dropped (`undefined`) so that `has()` reports it as absent.
 */
export function toCelInput(value: unknown, depth = 0): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > INPUT_LIMITS.maxStringLength ? value.slice(0, INPUT_LIMITS.maxStringLength) : value;
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  if (isDate(value)) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (depth >= INPUT_LIMITS.maxDepth) return undefined;
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const item of value.slice(0, INPUT_LIMITS.maxEntries)) items.push(toCelInput(item, depth + 1) ?? null);
    return items;
  }
  const map: JsonObject = {};
  let count = 0;
  for (const key of Object.keys(value)) {
    if (count === INPUT_LIMITS.maxEntries) break;
    const converted = toCelInput((value as Record<string, unknown>)[key], depth + 1);
    if (converted === undefined) continue;
    setOwn(map, key, converted);
    count += 1;
  }
  return map;
}

/** An input that must be a map (`traits`, `signals`, `task`): anything else counts as empty. */
export function toCelMap(value: unknown): JsonObject {
  const converted = toCelInput(value);
  return isJsonObject(converted) ? converted : {};
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `audiences` is declared `list<string>`, which the library enforces element by element. */
export function toAudienceList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const audiences: string[] = [];
  for (const item of value.slice(0, INPUT_LIMITS.maxEntries)) {
    if (typeof item === 'string') audiences.push(item);
  }
  return audiences;
}

/**
 * Converts a CEL result to JSON, following CEL's JSON mapping where there is one: int → number
 * (only within JavaScript's safe range, so no value is silently rounded), timestamp → RFC 3339
 * string, duration → `"3600s"`, bytes → base64.
 */
export function toJsonValue(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new UnsupportedValueError(`${value} is not a JSON number`);
      return value;
    case 'bigint':
      return bigintToNumber(value);
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      throw new UnsupportedValueError(`a ${typeof value} is not a JSON value`);
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UnsupportedValueError('invalid timestamp');
    return value.toISOString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) {
    const object: JsonObject = {};
    for (const [key, item] of value) setOwn(object, String(key), toJsonValue(item));
    return object;
  }
  const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  if (tag === 'google.protobuf.Duration') return (value as { toString(): string }).toString();
  const primitive = (value as { valueOf(): unknown }).valueOf();
  // The library's uint is a wrapper object around a bigint.
  if (typeof primitive === 'bigint') return bigintToNumber(primitive);
  // A plain object has Object.prototype of some realm (jest's vm sandbox is another realm) or none.
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== null && Object.getPrototypeOf(prototype) !== null) {
    throw new UnsupportedValueError(`a ${describeValue(value)} is not a JSON value`);
  }
  const object: JsonObject = {};
  for (const [key, item] of Object.entries(value)) setOwn(object, key, toJsonValue(item));
  return object;
}

/** For error messages: the CEL-ish name of a value's type. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  const tag = (value as { [Symbol.toStringTag]?: unknown })?.[Symbol.toStringTag];
  if (typeof tag === 'string' && tag.startsWith('google.protobuf.')) return tag;
  const name = (value as { constructor?: { name?: unknown } })?.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? name : 'map';
}

// A plain assignment of "__proto__" would replace the prototype instead of adding a key;
// defineProperty for every key would be safe too, but it is several times slower.
export function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

// instanceof fails for a Date made in another realm (a vm context, a worker's structured clone).
function isDate(value: object): value is Date {
  return Object.prototype.toString.call(value) === '[object Date]';
}

function bigintToNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new UnsupportedValueError('an integer outside the range a JSON number holds exactly');
  }
  return Number(value);
}
