import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { callThenSettle } from '../common/settled';
import { CustomerRoot } from './customer-context.service';

/** Fields that wait for the customer's reads (`CustomerRoot.settled`): they must not hold it. */
const WAITING: Record<string, ReadonlySet<string>> = { CustomerContext: new Set(['freshness']) };

/** The customer a field's parent belongs to: the root itself, or an object that carries it (a conversation). */
function rootOf(parent: unknown): CustomerRoot | null {
  if (parent instanceof CustomerRoot) return parent;
  const root = (parent as { root?: unknown } | null | undefined)?.root;
  return root instanceof CustomerRoot ? root : null;
}

/**
 * The barrier `freshness` waits at: every resolver of a field under a customer holds the
 * customer (`CustomerRoot.hold`) from the moment the GraphQL engine calls it until its children
 * have been called, so `CustomerRoot.settled` cannot resolve between a field's answer and the reads
 * its children start (a conversation's messages start only once the conversations are read).
 *
 * How "until its children have been called" is known: graphql-js and graphql-jit both continue a
 * field whose resolver returned a promise in a reaction to that very promise (`then`), and call the
 * child resolvers synchronously in it. The release is attached to the promise before the engine's
 * reaction and itself queues a microtask, which therefore runs after the engine's reaction; a
 * synchronous result is completed (children called) before any microtask runs. This wrapper must
 * be the outermost one (applied last): a wrapper outside it that adds a `then` would delay the
 * engine's reaction past the release.
 */
export function holdReadsWhileResolving(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    if (type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType()) continue;
    const waiting = WAITING[type.name];
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve || waiting?.has(field.name)) continue;
      field.resolve = (parent, args, context, info) => {
        const root = rootOf(parent);
        if (!root) return resolve(parent, args, context, info);
        const hold = root.hold();
        return callThenSettle(
          () => resolve(parent, args, context, info),
          () => queueMicrotask(hold),
        );
      };
    }
  }
  return schema;
}
