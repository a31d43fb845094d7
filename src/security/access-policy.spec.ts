import { join } from 'node:path';
import type { Principal } from '../auth/principal';
import { AccessPolicy, AccessPolicyError, globToRegExp, roleSetKey } from './access-policy';

const who = (...roles: string[]): Principal => ({ identity: 'jane', roles, workerSid: 'WK1', expiresAt: Date.now() + 60_000 });

const POLICY = `
roles:
  agent:
    traits:
      allow: ['*']
      deny: ['ssn', '*token*', 'address.street']
      mask: ['email', '*_phone']
    attributes:
      allow: ['customer_context', 'customers.name']
      mask: ['customers.phone']
  supervisor:
    traits:
      allow: ['*']
      deny: ['ssn']
  auditor:
    traits:
      allow: ['plan', 'address.city']
`;

const traits = {
  first_name: 'Jane',
  email: 'jane@example.com',
  mobile_phone: '+12015550100',
  ssn: '123-45-6789',
  api_token: 'abc',
  plan: 'gold',
  address: { street: 'Main St 1', city: 'Springfield' },
};

describe(AccessPolicy.name, () => {
  const policy = AccessPolicy.parse(POLICY);

  it('hides denied traits and masks the masked ones', () => {
    expect(policy.viewFor(who('agent')).traits(traits)).toEqual({
      first_name: 'Jane',
      email: 'j***@example.com',
      mobile_phone: '***0100',
      plan: 'gold',
      address: { city: 'Springfield' },
    });
  });

  it('shows only allowed paths when the allow-list is narrow', () => {
    expect(policy.viewFor(who('auditor')).traits(traits)).toEqual({ plan: 'gold', address: { city: 'Springfield' } });
  });

  it('gives a caller with several roles the union of what each may see', () => {
    const view = policy.viewFor(who('agent', 'supervisor')).traits(traits);
    expect(view).toMatchObject({ email: 'jane@example.com', api_token: 'abc', address: traits.address });
    expect(view).not.toHaveProperty('ssn');
  });

  it('shows nothing to roles it does not name, or to nobody', () => {
    expect(policy.viewFor(who('wfo.viewer')).traits(traits)).toEqual({});
    expect(policy.viewFor(null).traits(traits)).toEqual({});
    expect(policy.viewFor(null).externalId('user_id', 'u1')).toBeNull();
  });

  it('never takes a role whose name holds a comma for the roles it spells', () => {
    const fresh = AccessPolicy.parse(POLICY);
    expect(fresh.viewFor(who('agent', 'supervisor')).traits(traits)).toHaveProperty('email', 'jane@example.com');
    expect(fresh.viewFor(who('agent,supervisor')).traits(traits)).toEqual({});
    expect(fresh.viewFor(who('supervisor,agent')).traits(traits)).toEqual({});
    expect(roleSetKey(['agent,supervisor'])).not.toBe(roleSetKey(['agent', 'supervisor']));
    expect(roleSetKey(['supervisor', 'agent', 'agent'])).toBe(roleSetKey(['agent', 'supervisor']));
  });

  it('applies the attribute rules to routing attributes', () => {
    const attributes = { customer_context: { vip: true }, customers: { name: 'Jane Doe', email: 'jane@example.com', phone: '+12015550100' }, other: 1 };
    expect(policy.viewFor(who('agent')).attributes(attributes)).toEqual({ customer_context: { vip: true }, customers: { name: 'Jane Doe', phone: '***0100' } });
  });

  it('treats external ids like the trait of their type', () => {
    const view = policy.viewFor(who('agent'));
    expect(view.externalId('email', 'jane@example.com')).toBe('j***@example.com');
    expect(view.externalId('ssn', '123')).toBeNull();
    expect(view.externalId('user_id', 'u1')).toBe('u1');
  });

  it("treats an account's group id as account.group_id, and one written as an email or phone also like that type", () => {
    const roles = AccessPolicy.parse(`
roles:
  agent: { traits: { allow: ['*'], mask: ['email', 'phone'] } }
  analyst: { traits: { allow: ['*'], mask: ['group_id'] } }
  auditor: { traits: { allow: ['plan', 'account.tier'] } }
  admin: { traits: { allow: ['*'] } }
  lister: { traits: { allow: ['account.*'], deny: ['email'] } }
`);
    const groupIds = (role: string) => ['acme.example', 'owner@acme.example', '+12015550100', '1234567'].map((id) => roles.viewFor(who(role)).groupId(id));
    // An account number or a domain is neither: only the rules at account.group_id decide.
    expect(groupIds('agent')).toEqual(['acme.example', 'o***@acme.example', '***0100', '1234567']);
    expect(groupIds('analyst')).toEqual(['a***', 'o***@acme.example', '***0100', '***4567']);
    expect(groupIds('auditor')).toEqual([null, null, null, null]);
    expect(groupIds('admin')).toEqual(['acme.example', 'owner@acme.example', '+12015550100', '1234567']);
    // Allowed as the account's, denied as an email: the stricter wins.
    expect(groupIds('lister')).toEqual(['acme.example', null, null, '1234567']);
    expect(AccessPolicy.load(undefined).viewFor(who('agent')).groupId('owner@acme.example')).toBe('owner@acme.example');
  });

  it('passes everything through without a policy file', () => {
    const open = AccessPolicy.load(undefined);
    expect(open.viewFor(who('agent')).traits(traits)).toBe(traits);
    expect(open.viewFor(null).externalId('email', 'a@b.io')).toBe('a@b.io');
  });

  it("applies a role's trait deny and mask rules to event properties at any depth, inside arrays too, and shows the rest", () => {
    const properties = { order_id: 'A-1', email: 'jane@example.com', contact: { home_phone: '+12015550100' }, items: [{ api_token: 'x', sku: 'S' }], ssn: '1' };
    expect(policy.viewFor(who('agent')).eventProperties(properties)).toEqual({
      order_id: 'A-1',
      email: 'j***@example.com',
      contact: { home_phone: '***0100' },
      items: [{ sku: 'S' }],
    });
    // An allow-list of traits does not narrow events: only deny and mask carry over.
    expect(policy.viewFor(who('auditor')).eventProperties(properties)).toEqual(properties);
    expect(policy.viewFor(who('wfo.viewer')).eventProperties(properties)).toEqual({});
  });

  it("takes a role's own events rules instead when it has them", () => {
    const own = AccessPolicy.parse(`
roles:
  agent:
    traits: { allow: ['*'], mask: ['email'] }
    events: { allow: ['order_id', 'items'], deny: ['items.price'] }
`);
    const properties = { order_id: 'A-1', email: 'jane@example.com', items: [{ sku: 'S', price: 3 }] };
    expect(own.viewFor(who('agent')).eventProperties(properties)).toEqual({ order_id: 'A-1', items: [{ sku: 'S' }] });
  });

  it("applies a role's conversations rules to conversation text; without them a named role sees it", () => {
    const own = AccessPolicy.parse(`
roles:
  agent:
    traits: { allow: ['*'] }
  wfo:
    traits: { allow: ['plan'] }
    conversations: { allow: ['*'], deny: ['messages.body'], mask: ['friendlyName'] }
`);
    const [agent, wfo, both, stranger] = [who('agent'), who('wfo'), who('agent', 'wfo'), who('wfo.viewer')].map((p) => own.viewFor(p));
    expect(agent.conversationText('messages.body', 'My card was charged twice')).toBe('My card was charged twice');
    expect(wfo.conversationText('messages.body', 'My card was charged twice')).toBeNull();
    expect(wfo.conversationText('friendlyName', 'Jane Doe')).toBe('J***');
    // Several roles: the most any of them allows.
    expect(both.conversationText('messages.body', 'hi')).toBe('hi');
    expect(stranger.conversationText('friendlyName', 'Jane Doe')).toBeNull();
    expect(AccessPolicy.load(undefined).viewFor(who('wfo')).conversationText('messages.body', 'hi')).toBe('hi');
  });

  it('loads the example policy shipped in config/', () => {
    const example = AccessPolicy.load(join(__dirname, '..', '..', 'config', 'access-policy.example.yaml'));
    expect(example.viewFor(who('agent')).traits({ email: 'jane@example.com', ssn: '1' })).toEqual({ email: 'j***@example.com' });
    expect(example.viewFor(who('admin')).traits({ ssn: '1' })).toEqual({ ssn: '1' });
  });

  it('masks objects in arrays inside arrays, in traits and event properties alike', () => {
    const nested = { items: [[{ email: 'jane@example.com', ssn: '1', sku: 'S' }], [[{ mobile_phone: '+12015550100' }]]] };
    const expected = { items: [[{ email: 'j***@example.com', sku: 'S' }], [[{ mobile_phone: '***0100' }]]] };
    expect(policy.viewFor(who('agent')).traits(nested)).toEqual(expected);
    expect(policy.viewFor(who('agent')).eventProperties(nested)).toEqual(expected);
  });

  describe('the example policy on a deeply nested profile', () => {
    const example = AccessPolicy.load(join(__dirname, '..', '..', 'config', 'access-policy.example.yaml'));
    const profile = {
      first_name: 'Jane',
      plan: 'gold',
      email: 'jane@example.com',
      billing: {
        email: 'billing@example.com',
        iban: 'DE89370400440532013000',
        address: { street: 'Main St 1', city: 'Springfield', postal_code: '12345' },
        cards: [[{ credit_card_last4: '4242', holder: 'Jane' }]],
      },
      kyc: { ssn: '123-45-6789', date_of_birth: '1990-01-01', verified: true, documents: [{ kind: 'passport', social_security_number: '1' }] },
      integrations: { crm: { api_token: 'tok', secret_key: 's', owner_email: 'owner@example.com' } },
      contacts: [{ name: 'Bob', phone: '+12015550100', work_email: 'bob@example.com' }],
    };

    it('gives an agent the same deny and mask rules at every depth as at the top', () => {
      const expected = {
        first_name: 'Jane',
        plan: 'gold',
        email: 'j***@example.com',
        billing: { email: 'b***@example.com', address: { street: 'M***', city: 'S***', postal_code: '1***' }, cards: [[{ holder: 'Jane' }]] },
        kyc: { verified: true, documents: [{ kind: 'passport' }] },
        integrations: { crm: { owner_email: 'o***@example.com' } },
        contacts: [{ name: 'Bob', phone: '***0100', work_email: 'b***@example.com' }],
      };
      expect(example.viewFor(who('agent')).traits(profile)).toEqual(expected);
      expect(example.viewFor(who('agent')).eventProperties(profile)).toEqual(expected);
    });

    it('hides from a supervisor what the supervisor rules deny, at every depth', () => {
      expect(example.viewFor(who('supervisor')).traits(profile)).toEqual({
        ...profile,
        billing: { email: 'billing@example.com', address: profile.billing.address, cards: [[{ holder: 'Jane' }]] },
        kyc: { date_of_birth: '1990-01-01', verified: true, documents: [{ kind: 'passport' }] },
        integrations: { crm: { owner_email: 'owner@example.com' } },
      });
    });

    it('shows an admin everything', () => {
      expect(example.viewFor(who('admin')).traits(profile)).toEqual(profile);
    });
  });

  it('refuses a malformed file with a message that says where', () => {
    expect(() => AccessPolicy.parse('roles: [')).toThrow(AccessPolicyError);
    expect(() => AccessPolicy.parse('roles:\n  agent:\n    traits:\n      alow: ["*"]')).toThrow(/roles\.agent\.traits/);
    expect(() => AccessPolicy.load('/nonexistent/policy.yaml')).toThrow(/ACCESS_POLICY_FILE/);
  });
});

describe('globToRegExp', () => {
  it('matches dots with * and nothing else specially', () => {
    expect(globToRegExp('customers.*').test('customers.email')).toBe(true);
    expect(globToRegExp('customers.*').test('customersXemail')).toBe(false);
    expect(globToRegExp('*token*').test('auth.Token_v2')).toBe(true);
    expect(globToRegExp('a+b').test('aab')).toBe(false);
  });
});
