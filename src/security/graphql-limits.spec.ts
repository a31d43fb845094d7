import { buildSchema, parse } from 'graphql';
import { ErrorCode } from '../common/errors';
import { complexityOf, refuseComplexQueries, refuseLargeQueries } from './graphql-limits';

const schema = buildSchema(`
  type Query { customer(id: ID): Customer }
  type Customer { name: String events(first: Int = 20, after: String): [Event!]! conversations(first: Int = 10): [Conversation!]! }
  type Event { id: ID name: String }
  type Conversation { sid: ID messages(last: Int = 20): [Message!]! }
  type Message { sid: ID body: String }
`);
const cost = (query: string, variables?: Record<string, unknown>) => complexityOf(schema, parse(query), variables);

describe('complexityOf', () => {
  it('counts a field and its children once, and a page once per item', () => {
    expect(cost('{ customer { name } }')).toBe(2);
    expect(cost('{ customer { events(first: 5) { id name } } }')).toBe(1 + 1 + 5 * 2);
    expect(cost('{ customer { events { id } } }')).toBe(1 + 1 + 20 * 1);
  });

  it('takes page sizes from variables', () => {
    const query = 'query($n: Int) { customer { events(first: $n) { id } } }';
    expect(cost(query, { n: 100 })).toBe(102);
    expect(cost(query, {})).toBe(22);
  });

  it('adds the upstream call each conversation makes for its messages', () => {
    expect(cost('{ customer { conversations(first: 2) { messages(last: 3) { sid } } } }')).toBe(1 + 1 + 2 * (1 + 10 + 3 * 1));
  });

  it('refuses page sizes outside 0..100 before anything runs', () => {
    expect(() => cost('{ customer { events(first: 101) { id } } }')).toThrow(
      expect.objectContaining({ code: ErrorCode.BAD_REQUEST, message: 'first must be between 0 and 100' }),
    );
    expect(() => cost('query($n: Int) { customer { conversations { messages(last: $n) { sid } } } }', { n: -1 })).toThrow('last must be between 0 and 100');
  });
});

describe('the GraphQL limit hooks', () => {
  it('refuse a query over the complexity limit with QUERY_TOO_COMPLEX', async () => {
    const hook = refuseComplexQueries(50);
    await expect(hook(schema, parse('{ customer { events(first: 5) { id } } }'), {}, undefined)).resolves.toBeUndefined();
    await expect(hook(schema, parse('{ customer { events(first: 60) { id } } }'), {}, undefined)).rejects.toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX });
  });

  it('measure one document again when its variables change, and remember what it measured', async () => {
    const hook = refuseComplexQueries(50);
    const document = parse('query($n: Int) { customer { events(first: $n) { id } } }');
    await expect(hook(schema, document, {}, { n: 5 })).resolves.toBeUndefined();
    await expect(hook(schema, document, {}, { n: 60 })).rejects.toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX });
    // Remembered: the same variables are refused (and allowed) again, as measured.
    await expect(hook(schema, document, {}, { n: 60 })).rejects.toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX });
    await expect(hook(schema, document, {}, { n: 5 })).resolves.toBeUndefined();
    // A bad page size is refused every time, not remembered as a number.
    await expect(hook(schema, document, {}, { n: 101 })).rejects.toThrow('first must be between 0 and 100');
    await expect(hook(schema, document, {}, { n: 101 })).rejects.toThrow('first must be between 0 and 100');
  });

  it('refuse a query text over the byte limit with QUERY_TOO_LARGE, counting bytes not characters', async () => {
    const hook = refuseLargeQueries(10);
    await expect(hook(schema, '{ a }')).resolves.toBeUndefined();
    await expect(hook(schema, '{ ééééé }')).rejects.toMatchObject({ code: ErrorCode.QUERY_TOO_LARGE });
  });
});
