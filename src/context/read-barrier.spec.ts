import { execute, GraphQLBoolean, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomerRoot } from './customer-context.service';
import { holdReadsWhileResolving } from './read-barrier';

/**
 * `freshness` waits for every read of its customer, including reads that start late: a sibling
 * field whose read starts after an I/O hop, and a nested field (messages) that starts only once its
 * parent (conversations) has been read. Both engines the service can run (graphql-js, and
 * graphql-jit, which Mercurius switches to for a repeated query) are exercised.
 */

/** A read of `source` that fails after a moment, recorded on the customer like the service's reads. */
const failingRead = (root: CustomerRoot, source: string) =>
  root
    .once(source, async () => {
      await sleep(5);
      root.record(source, { fetchedAt: null, stale: true, error: 'UPSTREAM_UNAVAILABLE' });
      throw new Error(`${source} failed`);
    })
    .catch(() => null);

const Message = new GraphQLObjectType({ name: 'Message', fields: { sid: { type: GraphQLString } } });
const Conversation = new GraphQLObjectType<{ root: CustomerRoot; sid: string }>({
  name: 'Conversation',
  fields: {
    sid: { type: GraphQLString },
    // Starts its read only after an I/O hop of its own, as a resolver behind guards and pipes may.
    messages: {
      type: new GraphQLList(Message),
      resolve: async ({ root, sid }) => {
        await sleep(5);
        await failingRead(root, `messages:${sid}`);
        return [];
      },
    },
  },
});
const Source = new GraphQLObjectType({ name: 'Source', fields: { source: { type: GraphQLString }, error: { type: GraphQLString } } });
const Freshness = new GraphQLObjectType({ name: 'Freshness', fields: { stale: { type: GraphQLBoolean }, sources: { type: new GraphQLList(Source) } } });
const CustomerContext = new GraphQLObjectType<CustomerRoot>({
  name: 'CustomerContext',
  fields: {
    conversations: {
      type: new GraphQLList(Conversation),
      resolve: async (root) => {
        await sleep(5);
        return [{ root, sid: 'CH1' }];
      },
    },
    // A sibling whose read starts well after the engine called every field of the customer.
    late: {
      type: GraphQLString,
      resolve: async (root) => {
        await sleep(20);
        await failingRead(root, 'late');
        return 'late';
      },
    },
    freshness: {
      type: Freshness,
      resolve: async (root) => {
        await root.settled();
        const sources = [...root.sources.values()];
        return { stale: sources.some((s) => s.error), sources };
      },
    },
  },
});

const schema = () =>
  holdReadsWhileResolving(
    new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: { customerContext: { type: CustomerContext, resolve: () => new CustomerRoot('p1', null, [], [], null) } },
      }),
    }),
  );

/** Freshness asked first, before the fields whose reads it must wait for. */
const NESTED = '{ customerContext { freshness { stale sources { source error } } conversations { sid messages { sid } } } }';
const SIBLING = '{ customerContext { freshness { stale sources { source error } } late } }';

type Answer = { customerContext: { freshness: { stale: boolean; sources: Array<{ source: string; error: string | null }> } } };

const engines: Array<[string, (query: string) => Promise<ExecutionResult>]> = [
  ['graphql-js', async (query) => execute({ schema: schema(), document: parse(query) })],
  [
    'graphql-jit',
    async (query) => {
      const compiled = compileQuery(schema(), parse(query));
      if (!isCompiledQuery(compiled)) throw new Error('not compiled');
      return compiled.query(undefined, {}, {});
    },
  ],
];

describe(holdReadsWhileResolving.name, () => {
  const freshnessOf = async (run: (query: string) => Promise<ExecutionResult>, query: string) => {
    const result = (await run(query)) as ExecutionResult<Answer>;
    expect(result.errors).toBeUndefined();
    return result.data!.customerContext.freshness;
  };

  it.each(engines)('%s: freshness reports a failed read of a nested field (messages, started once conversations are read)', async (_, run) => {
    expect(await freshnessOf(run, NESTED)).toEqual({ stale: true, sources: [{ source: 'messages:CH1', error: 'UPSTREAM_UNAVAILABLE' }] });
  });

  it.each(engines)('%s: freshness reports a failed read of a sibling field that starts later', async (_, run) => {
    expect(await freshnessOf(run, SIBLING)).toEqual({ stale: true, sources: [{ source: 'late', error: 'UPSTREAM_UNAVAILABLE' }] });
  });

  it('settles at once when nothing holds the customer; a release counts once', async () => {
    const root = new CustomerRoot(null, null, [], [], null);
    await root.settled();
    const release = root.hold();
    const other = root.hold();
    let settled = false;
    const waiting = root.settled().then(() => (settled = true));
    release();
    release(); // a second release of the same hold changes nothing
    await sleep(1);
    expect(settled).toBe(false);
    other();
    await waiting;
    expect(settled).toBe(true);
  });
});
