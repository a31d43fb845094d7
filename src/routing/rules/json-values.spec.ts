import { INPUT_LIMITS, toCelInput, toJsonValue } from './json-values';

describe(toCelInput.name, () => {
  it('keeps JSON as it is', () => {
    const json = { a: 1, b: 2.5, c: 'x', d: true, e: null, f: [1, { g: 'h' }] };

    expect(toCelInput(json)).toEqual(json);
  });

  it('drops what is not JSON, so has() reports it absent', () => {
    expect(toCelInput({ a: undefined, b: () => 1, c: Symbol('x'), d: 1 })).toEqual({ d: 1 });
    expect(toCelInput([undefined, NaN, Infinity])).toEqual([null, null, null]);
  });

  it('turns Dates into ISO strings and BigInts into numbers', () => {
    expect(toCelInput({ at: new Date('2025-01-02T03:04:05Z'), n: 5n })).toEqual({ at: '2025-01-02T03:04:05.000Z', n: 5 });
  });

  it('bounds depth, list and map sizes and string length', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50; i += 1) deep = { next: deep };
    const big = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i]));

    let depth = 0;
    for (let node = toCelInput(deep); node !== undefined && typeof node === 'object'; depth += 1) {
      node = (node as { next?: unknown }).next as typeof node;
    }
    expect(depth).toBe(INPUT_LIMITS.maxDepth);
    expect(toCelInput(Array.from({ length: 5_000 }, () => 1))).toHaveLength(INPUT_LIMITS.maxEntries);
    expect(Object.keys(toCelInput(big) as object)).toHaveLength(INPUT_LIMITS.maxEntries);
    expect(toCelInput('x'.repeat(100_000))).toHaveLength(INPUT_LIMITS.maxStringLength);
  });
});

describe(toJsonValue.name, () => {
  it('converts CEL values to JSON', () => {
    expect(toJsonValue([1n, 2.5, 'x', null, new Uint8Array([104, 105])])).toEqual([1, 2.5, 'x', null, 'aGk=']);
    expect(toJsonValue(new Map<unknown, unknown>([[1n, 'one']]))).toEqual({ 1: 'one' });
  });

  it('refuses class instances', () => {
    expect(() => toJsonValue(new (class Vector {})())).toThrow('a Vector is not a JSON value');
  });
});
