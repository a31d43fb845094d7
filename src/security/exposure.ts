import { defaultFieldResolver, GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { principalOf, type CallerContext } from '../auth/principal';
import { filterTraitDetails, type TraitDetail } from '../profiles/trait-details';
import type { AccessPolicy, PolicyView } from './access-policy';

type Resolver = GraphQLFieldResolver<unknown, CallerContext>;
type ExternalId = { type: string; id: string };
type Apply = (view: PolicyView, value: unknown, parent: unknown) => unknown;

/**
 * The access policy applied where customer data leaves the service: the GraphQL fields that carry
 * trait values, the customer's identifiers or conversation text, wrapped once when the schema is built. Whoever writes those resolvers, and whatever
 * root field reaches them, the data passes through here. Without a policy file nothing is wrapped.
 */
const EXPOSED: Record<string, Record<string, Apply>> = {
  CustomerContext: {
    traits: (view, value) => view.traits(value as Record<string, unknown>),
    // The same trait rules as traits, on the same key → value map: hidden there, hidden here.
    traitDetails: (view, value) => filterTraitDetails(value as TraitDetail[], (traits) => view.traits(traits)),
    externalIds: (view, value) => (value as ExternalId[]).flatMap((e) => masked(view, e)),
    resolvedBy: (view, value) => (value ? (masked(view, value as ExternalId)[0] ?? null) : value),
  },
  // Events carry the same data as traits (an email in an Order Completed), wherever they are
  // reached: events, the journey, subscription pushes.
  Event: {
    properties: (view, value) => view.eventProperties(value as Record<string, unknown>),
  },
  // A customer writes from their phone or email: the author is that identifier, masked like it.
  // The body is free text: the role's `conversations` rules.
  Message: {
    author: (view, value, parent) => {
      const type = (parent as { authorType?: string | null }).authorType;
      return type ? view.externalId(type, value as string) : value;
    },
    body: (view, value) => view.conversationText('messages.body', value as string),
  },
  Conversation: {
    friendlyName: (view, value) => view.conversationText('friendlyName', value as string),
  },
  // A Conversational Intelligence summary retells what was said: it is read like a message's body.
  Insight: {
    text: (view, value) => view.conversationText('messages.body', value as string),
  },
  // So does an Agent Copilot wrap-up note's summary.
  WrapUpNote: {
    summary: (view, value) => view.conversationText('messages.body', value as string),
  },
  // An account's traits follow the role's trait rules under `account.<key>`: deny and mask
  // patterns reach them (at any depth), an allow list must name them (`account.*`, `account.plan`).
  Account: {
    traits: (view, value) => accountTraits(view, value as Record<string, unknown>),
    // A group id may be an email or a phone number: it is an identifier, under `account.group_id`.
    groupId: (view, value) => view.groupId(value as string),
  },
  RoutingDecision: {
    attributes: (view, value) => view.attributes(value as Record<string, unknown>),
  },
  // Subscriptions push the traits an identify changed.
  CustomerContextChange: {
    traits: (view, value) => view.traits(value as Record<string, unknown>),
  },
};

function accountTraits(view: PolicyView, traits: Record<string, unknown>): Record<string, unknown> {
  const shown = view.traits({ account: traits }).account;
  return shown !== null && typeof shown === 'object' && !Array.isArray(shown) ? (shown as Record<string, unknown>) : {};
}

function masked(view: PolicyView, externalId: ExternalId): ExternalId[] {
  const id = view.externalId(externalId.type, externalId.id);
  return id === null ? [] : [{ type: externalId.type, id }];
}

export function applyAccessPolicy(schema: GraphQLSchema, policy: AccessPolicy): GraphQLSchema {
  if (policy.unrestricted) return schema;
  for (const [typeName, fields] of Object.entries(EXPOSED)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`access policy: the schema has no type ${typeName}`);
    for (const [fieldName, apply] of Object.entries(fields)) {
      const field = type.getFields()[fieldName];
      if (!field) throw new Error(`access policy: ${typeName} has no field ${fieldName}`);
      const resolve: Resolver = field.resolve ?? defaultFieldResolver;
      // The request's policy view, computed once by the request pipeline (a subscription: its principal's).
      const viewOf = (context: CallerContext & { policyView?: PolicyView }) => context.policyView ?? policy.viewFor(principalOf(context));
      const exposeValue = (value: unknown, parent: unknown, context: CallerContext) =>
        value === null || value === undefined ? value : apply(viewOf(context), value, parent);
      // A synchronous resolver stays synchronous (graphql-jit's fast path).
      field.resolve = (parent, args, context: CallerContext, info) => {
        const value: unknown = resolve(parent, args, context, info);
        return value instanceof Promise ? value.then((settled) => exposeValue(settled, parent, context)) : exposeValue(value, parent, context);
      };
    }
  }
  return schema;
}
