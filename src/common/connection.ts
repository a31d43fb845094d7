import { DomainError, ErrorCode } from './errors';

/** Relay connections over an in-memory, newest-first window, with opaque offset cursors. */
export const MAX_PAGE_SIZE = 100;

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

const encode = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

function decode(cursor: string): number {
  const match = /^o:(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new DomainError(ErrorCode.BAD_REQUEST, 'after: not a cursor from this API');
  return Number(match[1]);
}

export function checkFirst(name: string, value: unknown, max = MAX_PAGE_SIZE): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new DomainError(ErrorCode.BAD_REQUEST, `${name} must be between 0 and ${max}`);
  }
  return value;
}

export function toConnection<S, T>(items: S[], first: number, after: string | null | undefined, map: (item: S) => T): Connection<T> {
  checkFirst('first', first);
  const start = after ? decode(after) + 1 : 0;
  const slice = items.slice(start, start + first);
  const edges = slice.map((item, i) => ({ cursor: encode(start + i), node: map(item) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: start + first < items.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: items.length,
  };
}
