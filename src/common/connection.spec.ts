import { DomainError } from './errors';
import { toConnection } from './connection';

const items = Array.from({ length: 25 }, (_, i) => i);

describe('toConnection', () => {
  it('pages forward with opaque cursors', () => {
    const first = toConnection(items, 10, null, (n) => n);
    expect(first.edges.map((e) => e.node)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = toConnection(items, 10, first.pageInfo.endCursor, (n) => n);
    expect(second.edges[0].node).toBe(10);
    const last = toConnection(items, 10, second.pageInfo.endCursor, (n) => n);
    expect(last.edges.map((e) => e.node)).toEqual([20, 21, 22, 23, 24]);
    expect(last.pageInfo.hasNextPage).toBe(false);
    expect(last.totalCount).toBe(25);
  });

  it('refuses foreign cursors and out-of-range sizes', () => {
    expect(() => toConnection(items, 10, 'bm9wZQ', (n) => n)).toThrow(DomainError);
    expect(() => toConnection(items, 101, null, (n) => n)).toThrow('first must be between 0 and 100');
    expect(() => toConnection(items, -1, null, (n) => n)).toThrow(DomainError);
  });
});
