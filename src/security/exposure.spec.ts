import { buildSchema, graphql, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { Principal } from '../auth/principal';
import { AccessPolicy } from './access-policy';
import { applyAccessPolicy } from './exposure';

const SDL = `
  type Query { customer: CustomerContext change: CustomerContextChange }
  type CustomerContext {
    traits: JSON traitDetails: [TraitDetail!]! account: Account externalIds: [ExternalId!]! resolvedBy: ExternalId
    routing: RoutingDecision events: [Event!]! conversations: [Conversation!]!
  }
  type TraitDetail { key: String! value: JSON stale: Boolean! }
  type Account { groupId: String! traits: JSON! }
  type Conversation { friendlyName: String messages: [Message!]! }
  type ExternalId { type: String! id: String! }
  type RoutingDecision { attributes: JSON }
  type CustomerContextChange { traits: JSON event: Event }
  type Event { properties: JSON }
  type Message { author: String body: String fromCustomer: Boolean! }
  type Insight { text: String }
  type WrapUpNote { summary: String }
  scalar JSON
`;
const POLICY = AccessPolicy.parse(`
roles:
  agent:
    traits: { allow: ['*'], deny: ['ssn', 'revenue'], mask: ['email'] }
    attributes: { allow: ['*'], mask: ['customers.email'] }
    conversations: { allow: ['*'], deny: ['messages.body'], mask: ['friendlyName'] }
`);
const agent: Principal = { identity: 'jane', roles: ['agent'], workerSid: null, expiresAt: Date.now() + 60_000 };
const customer = {
  traits: { email: 'ada@example.com', ssn: '1', plan: 'gold' },
  traitDetails: [
    { key: 'email', value: 'ada@example.com', stale: false },
    { key: 'ssn', value: '1', stale: true },
    { key: 'plan', value: 'gold', stale: true },
  ],
  account: { groupId: 'grp_1', traits: { tier: 'enterprise', revenue: 1_000_000, billing: { email: 'ap@acme.example' } } },
  externalIds: [
    { type: 'email', id: 'ada@example.com' },
    { type: 'ssn', id: '1' },
    { type: 'user_id', id: 'u1' },
  ],
  resolvedBy: { type: 'email', id: 'ada@example.com' },
  routing: { attributes: { customers: { email: 'ada@example.com' } } },
  events: [{ properties: { email: 'ada@example.com', cart: { items: 2 } } }],
  conversations: [
    {
      friendlyName: 'Ada Lovelace',
      messages: [
        { author: 'ada@example.com', body: 'My order is late', fromCustomer: true, authorType: 'email' },
        { author: 'agent.bo@example.com', body: 'Let me check', fromCustomer: false, authorType: null },
      ],
    },
  ],
};

function schemaWith(resolvers: { customer: () => unknown; change: () => unknown }): GraphQLSchema {
  const schema = buildSchema(SDL);
  schema.getQueryType()!.getFields().customer.resolve = resolvers.customer;
  schema.getQueryType()!.getFields().change.resolve = resolvers.change;
  return schema;
}

const QUERY =
  '{ customer { traits traitDetails { key value stale } account { groupId traits } externalIds { type id } resolvedBy { type id } routing { attributes } events { properties } conversations { friendlyName messages { author body fromCustomer } } } change { traits } }';

describe('applyAccessPolicy', () => {
  const schema = applyAccessPolicy(
    schemaWith({ customer: () => customer, change: () => ({ traits: { email: 'ada@example.com' }, event: { properties: { email: 'ada@example.com' } } }) }),
    POLICY,
  );

  it("filters every field that carries trait values or conversation text, for the HTTP caller's roles", async () => {
    const result = await graphql({ schema, source: QUERY, contextValue: { req: { principal: agent } } });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      customer: {
        traits: { email: 'a***@example.com', plan: 'gold' },
        // The same rules on the same values: hidden and masked exactly as in traits.
        traitDetails: [
          { key: 'email', value: 'a***@example.com', stale: false },
          { key: 'plan', value: 'gold', stale: true },
        ],
        // An account's traits under account.<key>: deny and mask patterns reach them at any depth.
        account: { groupId: 'grp_1', traits: { tier: 'enterprise', billing: { email: 'a***@acme.example' } } },
        externalIds: [
          { type: 'email', id: 'a***@example.com' },
          { type: 'user_id', id: 'u1' },
        ],
        resolvedBy: { type: 'email', id: 'a***@example.com' },
        routing: { attributes: { customers: { email: 'a***@example.com' } } },
        events: [{ properties: { email: 'a***@example.com', cart: { items: 2 } } }],
        conversations: [
          {
            friendlyName: 'A***',
            messages: [
              { author: 'a***@example.com', body: null, fromCustomer: true },
              { author: 'agent.bo@example.com', body: null, fromCustomer: false },
            ],
          },
        ],
      },
      change: { traits: { email: 'a***@example.com' } },
    });
  });

  it('reads a WebSocket caller from the context, and shows nothing to nobody', async () => {
    const ws = await graphql({ schema, source: '{ change { traits event { properties } } }', contextValue: { principal: agent } });
    expect(ws.data).toEqual({ change: { traits: { email: 'a***@example.com' }, event: { properties: { email: 'a***@example.com' } } } });
    const nobody = await graphql({ schema, source: '{ customer { traits traitDetails { key } account { traits } resolvedBy { id } } }', contextValue: {} });
    expect(nobody.data).toEqual({ customer: { traits: {}, traitDetails: [], account: { traits: {} }, resolvedBy: null } });
  });

  it('lets an allow list name account traits by account.<key>, and nothing else of the account', async () => {
    const narrow = AccessPolicy.parse(`
roles:
  wfm:
    traits: { allow: ['plan', 'account.tier'] }
`);
    const guarded = applyAccessPolicy(schemaWith({ customer: () => customer, change: () => null }), narrow);
    const wfm: Principal = { ...agent, roles: ['wfm'] };
    const result = await graphql({
      schema: guarded,
      source: '{ customer { traits traitDetails { key value } account { traits } } }',
      contextValue: { req: { principal: wfm } },
    });
    expect(result.data).toEqual({
      customer: { traits: { plan: 'gold' }, traitDetails: [{ key: 'plan', value: 'gold' }], account: { traits: { tier: 'enterprise' } } },
    });
  });

  it('leaves the schema alone without a policy file, and insists on the fields it guards', () => {
    const plain = schemaWith({ customer: () => customer, change: () => null });
    const traits = () => (plain.getType('CustomerContext') as GraphQLObjectType).getFields().traits.resolve;
    const before = traits();
    expect(applyAccessPolicy(plain, AccessPolicy.load(undefined))).toBe(plain);
    expect(traits()).toBe(before);
    expect(() => applyAccessPolicy(buildSchema('type Query { a: Int }'), POLICY)).toThrow(/no type CustomerContext/);
  });
});
