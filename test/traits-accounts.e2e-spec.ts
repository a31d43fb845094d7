import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';

/**
 * Where a trait came from (`traitDetails`, `traitAge`) and the customer's business account
 * (`account`, `accounts`), end to end: real adapters, real Redis, the sandbox's Profile API.
 */

interface TraitDetail {
  key: string;
  value: unknown;
  source: string | null;
  updatedAt: string | null;
  stale: boolean;
}
interface AccountView {
  groupId: string | null;
  traits: Record<string, unknown>;
}
interface Context {
  traits: Record<string, unknown>;
  traitDetails: TraitDetail[];
  account: AccountView | null;
  accounts: AccountView[];
  routing: { attributes: { customer_context: Record<string, unknown> }; matchedRules: string[] };
  freshness: { stale: boolean; sources: Array<{ source: string; stale: boolean; error: string | null }> };
}
type Answer = { customerContext: Partial<Context> | null };

const DETAILS = /* GraphQL */ `
  query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { traits traitDetails { key value source updatedAt stale } } }`;
const ACCOUNT = /* GraphQL */ `
  query($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) { account { groupId traits } accounts { groupId traits } freshness { stale sources { source stale error } } }
  }`;

/** Rules that read the account and a trait's age, as a rules file of a B2B contact center would. */
const RULES = `
defaults: { priority: 0, plan_fresh: false }
rules:
  - name: enterprise_account
    when: 'has(account.traits) && account.traits.tier == "enterprise"'
    set: { priority: 100, account_tier: account.traits.tier }
  - name: plan_fresh
    when: 'traitAge("plan") < duration("720h")'
    set: { plan_fresh: true }
`;

describe('trait origins and accounts (e2e)', () => {
  let sandbox: Sandbox;
  let dir: string;
  let h: Harness;
  let vip: SandboxCustomer;
  let long: SandboxCustomer;

  beforeAll(async () => {
    sandbox = await startSandbox({ quiet: true, customers: 12 });
    dir = mkdtempSync(join(tmpdir(), 'cc-traits-'));
    h = await startHarness({ sandbox, env: { SEGMENT_WEBHOOK_SECRET: 'traits-accounts-secret' } });
    vip = sandbox.data.byArchetype('vip');
    long = sandbox.data.byArchetype('long_history');
  });
  afterAll(async () => {
    await h.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.calls.reset();
  });

  const context = async (harness: Harness, query: string, lookup: Record<string, unknown>, headers?: Record<string, string>) => {
    const result = await harness.gql<Answer>(query, { lookup }, headers);
    expect(result.errors).toBeUndefined();
    return result.data?.customerContext as Context;
  };
  const errorOf = (ctx: Context, source: string) => ctx.freshness.sources.find((s) => s.source === source)?.error ?? null;
  /** An instance of its own on the shared sandbox, with this access policy (and env), closed after `use`. */
  const withPolicy = async (policy: string, use: (harness: Harness) => Promise<void>, env: Record<string, string> = {}) => {
    const file = join(dir, `policy-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, policy);
    const guarded = await startHarness({ sandbox, env: { ACCESS_POLICY_FILE: file, ...env } });
    try {
      await use(guarded);
    } finally {
      await guarded.close();
    }
  };

  describe('traitDetails', () => {
    it("gives each trait's source and update time from the same one /traits read, and marks the stale ones", async () => {
      const ctx = await context(h, DETAILS, { userId: long.userId });
      // 150 traits: two pages of 100, verbose, and no other /traits call for the details.
      expect(sandbox.calls.log().filter((c) => c.route === 'traits')).toEqual([
        expect.objectContaining({ path: expect.stringContaining('verbose=true') }),
        expect.objectContaining({ path: expect.stringContaining('verbose=true') }),
      ]);
      expect(ctx.traits).toEqual({ ...long.traits, ...long.audiences });
      expect(ctx.traitDetails.map((d) => d.key).sort()).toEqual(Object.keys(ctx.traits).sort());
      const byKey = new Map(ctx.traitDetails.map((d) => [d.key, d]));
      expect(byKey.get('plan')).toEqual({ key: 'plan', value: 'enterprise', source: expect.any(String), updatedAt: long.traitsUpdatedAt.plan, stale: true });
      expect(byKey.get('lifetime_value')).toMatchObject({ value: long.traits.lifetime_value, stale: false });
      expect(byKey.get('custom_attribute_001')?.stale).toBe(false);

      const fresh = await context(h, DETAILS, { phone: vip.phone });
      expect(fresh.traitDetails.filter((d) => d.stale)).toEqual([]);
      expect(fresh.traitDetails.find((d) => d.key === 'plan')).toMatchObject({ value: 'platinum', source: expect.any(String), updatedAt: expect.any(String) });
    });

    it('dates a trait an identify webhook just set from its message, its source unknown, no longer stale', async () => {
      await context(h, DETAILS, { userId: long.userId });
      const timestamp = new Date(Date.now() - 5_000).toISOString();
      const posted = await postSegment(h, { type: 'identify', userId: long.userId, messageId: 'traits-accounts-plan', timestamp, traits: { plan: 'scale' } });
      expect(posted.status).toBe(200);
      const ctx = await context(h, DETAILS, { userId: long.userId });
      expect(ctx.traits.plan).toBe('scale');
      expect(ctx.traitDetails.find((d) => d.key === 'plan')).toEqual({ key: 'plan', value: 'scale', source: null, updatedAt: timestamp, stale: false });
      expect(ctx.traitDetails.find((d) => d.key === 'city')?.stale).toBe(true);
    });

    it('counts a trait as stale past TRAIT_STALE_AFTER_MS, whatever it is set to', async () => {
      const strict = await startHarness({ sandbox, env: { TRAIT_STALE_AFTER_MS: '60000' } });
      try {
        const ctx = await context(strict, DETAILS, { phone: vip.phone });
        const plan = ctx.traitDetails.find((d) => d.key === 'plan') as TraitDetail;
        expect(plan.stale).toBe(Date.now() - Date.parse(plan.updatedAt as string) > 60_000);
        expect(ctx.traitDetails.some((d) => d.stale)).toBe(true);
      } finally {
        await strict.close();
      }
    });

    it('hides and masks exactly what traits hides and masks, for every role', async () => {
      const policy = `roles:
  agent:
    traits: { allow: ["*"], deny: ["first_name", "employees"], mask: ["email", "phone"] }
  supervisor:
    traits: { allow: ["plan", "account.tier", "account.name"] }
`;
      await withPolicy(policy, async (guarded) => {
        const query = /* GraphQL */ `
          query($lookup: CustomerLookupInput!) {
            customerContext(lookup: $lookup) { traits traitDetails { key value } account { groupId traits } accounts { traits } }
          }`;
        const agent = await context(guarded, query, { phone: vip.phone });
        const shown = (ctx: Context) => Object.fromEntries(ctx.traitDetails.map((d) => [d.key, d.value]));
        expect(agent.traits).not.toHaveProperty('first_name');
        expect(agent.traits.email).toMatch(/^.\*\*\*@example\.com$/);
        expect(shown(agent)).toEqual(agent.traits);
        const [northwind] = sandbox.data.accounts;
        const { employees: _hidden, ...accountShown } = northwind.traits;
        expect(agent.account).toEqual({ groupId: northwind.groupId, traits: accountShown });
        expect(agent.accounts).toEqual([{ traits: accountShown }]);

        const supervisor = await context(guarded, query, { phone: vip.phone }, { authorization: `Bearer ${sandbox.credentials.supervisorToken}` });
        expect(supervisor.traits).toEqual({ plan: 'platinum' });
        expect(supervisor.traitDetails).toEqual([{ key: 'plan', value: 'platinum' }]);
        expect(supervisor.account?.traits).toEqual({ tier: 'enterprise', name: 'Northwind Outfitters' });
      });
    });
  });

  describe('account', () => {
    it('reads the linked accounts only when the query selects them, each once, then from the cache', async () => {
      await context(h, /* GraphQL */ `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { traits routing { attributes } } }`, {
        phone: long.phone,
      });
      expect(sandbox.calls.count({ route: 'links' }) + sandbox.calls.count({ route: 'account_traits' })).toBe(0);

      const [northwind, contoso] = sandbox.data.accounts;
      const ctx = await context(h, ACCOUNT, { phone: long.phone });
      expect(ctx.account).toEqual({ groupId: contoso.groupId, traits: contoso.traits });
      expect(ctx.accounts).toEqual([
        { groupId: contoso.groupId, traits: contoso.traits },
        { groupId: northwind.groupId, traits: northwind.traits },
      ]);
      expect(ctx.freshness.stale).toBe(false);
      expect(sandbox.calls.count({ route: 'links' })).toBe(1);
      expect(sandbox.calls.count({ route: 'account_traits' })).toBe(2);

      // The VIP's account is Northwind too: its traits come from the cache, shared by its users.
      sandbox.calls.reset();
      const vipCtx = await context(h, ACCOUNT, { phone: vip.phone });
      expect(vipCtx.account).toEqual({ groupId: northwind.groupId, traits: northwind.traits });
      expect(sandbox.calls.count({ route: 'links' })).toBe(1);
      expect(sandbox.calls.count({ route: 'account_traits' })).toBe(0);

      // The last such customer: the tests below link earlier ones to accounts before their first read.
      const regular = [...sandbox.data.customers].reverse().find((c) => c.archetype === 'regular' && c.userId && c.accounts.length === 0) as SandboxCustomer;
      expect(await context(h, ACCOUNT, { userId: regular.userId })).toMatchObject({ account: null, accounts: [], freshness: { stale: false } });
    });

    it('shows a failed /links read in freshness, never as "no account", and caches nothing of it', async () => {
      const customer = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.index > 6) as SandboxCustomer;
      // A customer whose links nobody read yet: linked for this test to the enterprise account.
      customer.accounts = [sandbox.data.accounts[0].groupId];
      sandbox.faults.add({ service: 'segment', route: 'links', status: 500 });
      const failed = await context(h, ACCOUNT, { userId: customer.userId });
      expect(failed.account).toBeNull();
      expect(errorOf(failed, 'segment.accounts')).toBe('UPSTREAM_UNAVAILABLE');
      expect(failed.freshness.stale).toBe(true);

      sandbox.faults.clear();
      const healed = await context(h, ACCOUNT, { userId: customer.userId });
      expect(healed.account?.groupId).toBe(sandbox.data.accounts[0].groupId);
      expect(errorOf(healed, 'segment.accounts')).toBeNull();
    });

    it('shows a failed account traits read in freshness, the account listed without traits', async () => {
      const customer = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.index > 7 && c.accounts.length === 0) as SandboxCustomer;
      const groupId = 'grp_not_cached_yet';
      sandbox.data.accounts.push({ groupId, traits: { tier: 'smb' }, createdAt: '2025-01-01T00:00:00.000Z' });
      customer.accounts = [groupId];
      sandbox.faults.add({ service: 'segment', route: 'account_traits', status: 500 });
      const failed = await context(h, ACCOUNT, { userId: customer.userId });
      expect(failed.account).toEqual({ groupId, traits: {} });
      expect(errorOf(failed, 'segment.account_traits')).toBe('UPSTREAM_UNAVAILABLE');
      sandbox.faults.clear();
      expect((await context(h, ACCOUNT, { userId: customer.userId })).account).toEqual({ groupId, traits: { tier: 'smb' } });
    });
  });

  describe('routing rules on account.traits and traitAge', () => {
    let routed: Harness;
    beforeAll(async () => {
      const path = join(dir, 'rules.yaml');
      writeFileSync(path, RULES);
      routed = await startHarness({ sandbox, env: { ROUTING_RULES_FILE: path } });
    });
    afterAll(() => routed.close());

    const preview = async (lookup: Record<string, unknown>) => {
      const result = await routed.gql<{ routingPreview: { attributes: { customer_context: Record<string, unknown> }; matchedRules: string[] } }>(
        'query($lookup: CustomerLookupInput!) { routingPreview(lookup: $lookup) { attributes matchedRules } }',
        { lookup },
      );
      expect(result.errors).toBeUndefined();
      return result.data?.routingPreview;
    };

    it('gives an enterprise account priority, and tells a fresh plan from a stale one', async () => {
      expect(await preview({ phone: vip.phone })).toEqual({
        attributes: { customer_context: { priority: 100, account_tier: 'enterprise', plan_fresh: true } },
        matchedRules: ['enterprise_account', 'plan_fresh'],
      });
      // long_history: a mid-market account first, and a plan last set years ago.
      expect(await preview({ phone: long.phone })).toEqual({
        attributes: { customer_context: { priority: 0, plan_fresh: false } },
        matchedRules: [],
      });
    });

    it('reads the account for routing when the rules name it, though the query selects no account', async () => {
      const ctx = await context(
        routed,
        /* GraphQL */ `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { routing { attributes matchedRules } } }`,
        {
          email: vip.email,
        },
      );
      expect(ctx.routing.matchedRules).toContain('enterprise_account');
    });

    it('still routes on the account after a refresh that selects only routing, when Segment then fails to list it', async () => {
      type Routed = { routing: { matchedRules: string[] } };
      const lookup = { email: vip.email };
      const before = await routed.gql<{ customerContext: Routed | null }>(
        'query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { routing { matchedRules } } }',
        { lookup },
      );
      expect(before.data?.customerContext?.routing.matchedRules).toContain('enterprise_account');
      sandbox.calls.reset();
      sandbox.faults.add({ service: 'segment', route: 'links', status: 500 });
      // The refresh reads the account again for routing (the rules name it) and keeps the last one
      // read when that fails; it drops only the cached parts the selection does not read.
      const refreshed = await routed.gql<{ refreshCustomerContext: Routed | null }>(
        'mutation($lookup: CustomerLookupInput!) { refreshCustomerContext(lookup: $lookup) { routing { matchedRules } } }',
        { lookup },
      );
      expect(refreshed.errors).toBeUndefined();
      expect(sandbox.calls.count({ route: 'links' })).toBeGreaterThan(0);
      expect(refreshed.data?.refreshCustomerContext?.routing.matchedRules).toContain('enterprise_account');
    });

    it('decides degraded, naming the source, when the account cannot be read', async () => {
      const customer = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.index > 8) as SandboxCustomer;
      sandbox.faults.add({ service: 'segment', route: 'links', status: 500 });
      expect((await preview({ userId: customer.userId }))?.attributes.customer_context).toMatchObject({
        degraded: true,
        degraded_reason: expect.stringContaining('segment.accounts UPSTREAM_UNAVAILABLE'),
      });
    });
  });

  describe("an account's group id and its traits under the access policy and the customer's consent", () => {
    // A group id is whatever the customer's code passed to group(): here an owner's email and a domain.
    const byEmail = { groupId: 'owner@acme-corp.example', traits: { name: 'Acme Corp', tier: 'enterprise', region: 'EMEA', timezone: 'Europe/Paris' } };
    const byDomain = { groupId: 'acme-corp.example', traits: { name: 'Acme Corp (EU)', tier: 'smb' } };
    let customer: SandboxCustomer;
    let linked: string[];
    beforeAll(() => {
      sandbox.data.accounts.push({ ...byEmail, createdAt: '2025-02-01T00:00:00.000Z' }, { ...byDomain, createdAt: '2025-02-02T00:00:00.000Z' });
      customer = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.profileId) as SandboxCustomer;
      linked = customer.accounts;
      customer.accounts = [byEmail.groupId, byDomain.groupId];
    });
    afterAll(() => {
      customer.accounts = linked;
    });
    const as = (roles: string[]) => ({ authorization: `Bearer ${sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles })}` });

    it('shows, masks or hides the group id by the trait rules at account.group_id, and one written as an email by the email rule too', async () => {
      const policy = `roles:
  agent:
    traits: { allow: ["*"], mask: ["email", "phone"] }
  supervisor:
    traits: { allow: ["plan", "account.tier"] }
  admin:
    traits: { allow: ["*"] }
  analyst:
    traits: { allow: ["*"], mask: ["group_id"] }
`;
      await withPolicy(policy, async (guarded) => {
        const groupIds = async (roles: string[]) => (await context(guarded, ACCOUNT, { userId: customer.userId }, as(roles))).accounts.map((a) => a.groupId);
        // The agent masks emails: the owner's email is masked as one; the domain is no email.
        expect(await groupIds(['agent'])).toEqual(['o***@acme-corp.example', 'acme-corp.example']);
        expect(await groupIds(['analyst'])).toEqual(['o***@acme-corp.example', 'a***']);
        // An allow list that does not name account.group_id hides it; the tier it names is shown.
        const supervisor = await context(guarded, ACCOUNT, { userId: customer.userId }, as(['supervisor']));
        expect(supervisor.accounts).toEqual([
          { groupId: null, traits: { tier: 'enterprise' } },
          { groupId: null, traits: { tier: 'smb' } },
        ]);
        expect(supervisor.account).toEqual({ groupId: null, traits: { tier: 'enterprise' } });
        expect(await groupIds(['admin'])).toEqual([byEmail.groupId, byDomain.groupId]);
      });
    });

    it('hides and masks the account traits the consent rules name under traits.account, says so, and refuses to route on them', async () => {
      const policy = `roles:
  agent:
    traits: { allow: ["*"] }
consent:
  categories:
    Personalization:
      hide: ["traits.account.tier", "traits.timezone"]
      mask: ["traits.account.region"]
`;
      const rules = join(dir, 'consent-rules.yaml');
      writeFileSync(rules, RULES);
      const query = /* GraphQL */ `
        query($lookup: CustomerLookupInput!) {
          customerContext(lookup: $lookup) {
            account { traits } accounts { traits }
            withheld { part path consent action }
            routing { matchedRules explanations { rule reason } }
          }
        }`;
      type Consented = Context & {
        withheld: Array<{ part: string; path: string; consent: string; action: string }>;
        routing: Context['routing'] & { explanations: Array<{ rule: string; reason: string }> };
      };
      await withPolicy(
        policy,
        async (guarded) => {
          const read = async () => (await context(guarded, query, { userId: customer.userId })) as Consented;
          // Never asked: Personalization counts as declined.
          const declined = await read();
          // traits.timezone is the person's trait: the account's timezone is not the person's data.
          expect(declined.account?.traits).toEqual({ name: 'Acme Corp', region: 'E***', timezone: 'Europe/Paris' });
          expect(declined.accounts.map((a) => a.traits)).toEqual([{ name: 'Acme Corp', region: 'E***', timezone: 'Europe/Paris' }, { name: 'Acme Corp (EU)' }]);
          expect(declined.withheld).toEqual(
            expect.arrayContaining([
              { part: 'traits', path: 'account.tier', consent: 'Personalization', action: 'hidden' },
              { part: 'traits', path: 'account.region', consent: 'Personalization', action: 'masked' },
            ]),
          );
          expect(declined.routing.matchedRules).not.toContain('enterprise_account');
          expect(declined.routing.explanations.find((e) => e.rule === 'enterprise_account')?.reason).toBe(
            "refused: reads traits.account.tier, hidden by the customer's consent (Personalization)",
          );

          // Once the customer consents, the same answer shows them and routes on them.
          sandbox.data.addEvent(customer, {
            event: 'Segment Consent Preference Updated',
            timestamp: new Date(Date.now() - 60_000).toISOString(),
            context: { consent: { categoryPreferences: { Personalization: true } } },
          });
          const refreshed = await guarded.gql<{ refreshCustomerContext: Consented }>(
            query.replace('query', 'mutation').replace('customerContext(', 'refreshCustomerContext('),
            {
              lookup: { userId: customer.userId },
            },
          );
          expect(refreshed.errors).toBeUndefined();
          const consented = refreshed.data?.refreshCustomerContext as Consented;
          expect(consented.account?.traits).toEqual(byEmail.traits);
          expect(consented.withheld).toEqual([]);
          expect(consented.routing.matchedRules).toContain('enterprise_account');
        },
        { ROUTING_RULES_FILE: rules },
      );
    });
  });
});
