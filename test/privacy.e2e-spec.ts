import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../src/sandbox/sandbox';
import { subscribeToChanges } from './support/graphql-ws-client';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';

const EXAMPLE_POLICY = join(__dirname, '..', 'config', 'access-policy.example.yaml');
const SECRET = 'consent-secret';
const CONSENT_EVENT = 'Segment Consent Preference Updated';

/** One routing rule that reads a trait the example consent rule covers, one that reads consent. */
const RULES = `
defaults: { store: "none", personalised: false }
rules:
  - name: store_desk
    when: 'has(traits.preferred_store)'
    set: { store: 'traits.preferred_store' }
  - name: personalised
    when: 'has(consent.Personalization) && consent.Personalization'
    set: { personalised: true }
`;

const QUERY = `query ($lookup: CustomerLookupInput!) {
  customerContext(lookup: $lookup) {
    traits
    consent { categories { id status } setAt known }
    withheld { part path consent action }
    routing { attributes explanations { rule matched reason } }
  }
}`;

interface Answer {
  customerContext: {
    traits: Record<string, unknown>;
    consent: { categories: Array<{ id: string; status: string }>; setAt: string | null; known: boolean } | null;
    withheld: Array<{ part: string; path: string; consent: string; action: string }>;
    routing: { attributes: { customer_context: Record<string, unknown> }; explanations: Array<{ rule: string; matched: boolean; reason: string }> };
  };
}

describe('consent-aware views (e2e)', () => {
  let h: Harness;
  let dir: string;
  let vip: Sandbox['data']['customers'][number];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-consent-'));
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    h = await startHarness({ env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY, SEGMENT_WEBHOOK_SECRET: SECRET, ROUTING_RULES_FILE: join(dir, 'rules.yaml') } });
    vip = h.sandbox.data.byArchetype('vip');
  });

  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = async (mutation = false) => {
    const result = await h.gql<Answer>(mutation ? QUERY.replace('query', 'mutation').replace('customerContext(', 'refreshCustomerContext(') : QUERY, {
      lookup: { userId: vip.userId },
    });
    expect(result.errors).toBeUndefined();
    const data = result.data as unknown as Record<string, Answer['customerContext']>;
    return data.customerContext ?? data.refreshCustomerContext;
  };

  it('hides what the customer never consented to, says why, and refuses to route on it', async () => {
    expect(vip.traits.preferred_store).toBe('Chicago Loop');
    const answer = await read();
    expect(answer.traits.preferred_store).toBeUndefined();
    expect(answer.traits.timezone).toBeUndefined();
    expect(answer.traits.loyalty_tier).toBe('gold');
    expect(answer.consent).toEqual({ categories: [{ id: 'Personalization', status: 'never_collected' }], setAt: null, known: true });
    expect(answer.withheld).toEqual(
      expect.arrayContaining([
        { part: 'traits', path: 'preferred_store', consent: 'Personalization', action: 'hidden' },
        { part: 'traits', path: 'timezone', consent: 'Personalization', action: 'hidden' },
      ]),
    );
    expect(answer.routing.attributes.customer_context).toEqual({ store: 'none', personalised: false });
    expect(answer.routing.explanations[0]).toEqual({
      rule: 'store_desk',
      matched: false,
      reason: "refused: reads traits.preferred_store, hidden by the customer's consent (Personalization)",
    });
  });

  it('reads consent from the profile (its events, as the Profile API returns them) and shows what it allows', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    h.sandbox.data.addEvent(vip, {
      event: CONSENT_EVENT,
      timestamp: at,
      context: { consent: { categoryPreferences: { Personalization: true, Advertising: false } } },
    });
    const answer = await read(true);
    expect(answer.traits.preferred_store).toBe('Chicago Loop');
    expect(answer.withheld).toEqual([]);
    expect(answer.consent).toEqual({
      categories: [
        { id: 'Personalization', status: 'consented' },
        { id: 'Advertising', status: 'declined' },
      ],
      setAt: at,
      known: true,
    });
    expect(answer.routing.attributes.customer_context).toEqual({ store: 'Chicago Loop', personalised: true });
  });

  it('learns a changed mind from the webhook at once', async () => {
    const at = new Date().toISOString();
    const response = await postSegment(h, {
      type: 'track',
      event: CONSENT_EVENT,
      messageId: `consent-${Date.now()}`,
      userId: vip.userId,
      timestamp: at,
      context: { consent: { categoryPreferences: { Advertising: false } } },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcomes: { applied: 1 } });
    const answer = await read();
    // Left out of the newer preferences: Personalization is now false (Segment's reading).
    expect(answer.consent?.categories).toEqual([
      { id: 'Personalization', status: 'declined' },
      { id: 'Advertising', status: 'declined' },
    ]);
    expect(answer.consent?.setAt).toBe(at);
    expect(answer.traits.preferred_store).toBeUndefined();
    expect(answer.routing.explanations[0].reason).toMatch(/^refused: reads traits.preferred_store/);
  });

  it('pushes no value a consent rule covers, whatever the customer chose', async () => {
    // Looked up first: the webhook applies to customers someone has looked up.
    expect(
      (await h.gql(`query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId } }`, { lookup: { userId: vip.userId } })).errors,
    ).toBeUndefined();
    const subscriber = await subscribeToChanges<{ traits: Record<string, unknown> | null }>(h, {
      token: h.sandbox.credentials.agentToken,
      profileId: vip.profileId!,
      selection: 'traits',
    });
    try {
      const response = await postSegment(h, {
        type: 'identify',
        userId: vip.userId,
        messageId: `consent-push-${Date.now()}`,
        traits: { preferred_store: 'Evanston', nickname: 'Cap' },
      });
      expect(response.status).toBe(200);
      await subscriber.barrier();
      expect(subscriber.received).toEqual([{ traits: { nickname: 'Cap' } }]);
    } finally {
      await subscriber.close();
    }
  });

  it('shows consent only to the roles the policy names', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `roles:\n  agent:\n    traits: { allow: ['*'] }\n  supervisor:\n    traits: { allow: ['*'] }\nconsent:\n  visibleTo: [supervisor]\n  categories:\n    Personalization: { hide: ['traits.preferred_store'] }\n`,
    );
    const other = await startHarness({ sandbox: h.sandbox, env: { ACCESS_POLICY_FILE: policy } });
    try {
      const query = `query ($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { consent { setAt } } }`;
      const asAgent = await other.gql<{ customerContext: { consent: unknown } }>(query, { lookup: { userId: vip.userId } });
      expect(asAgent.data?.customerContext.consent).toBeNull();
      const asSupervisor = await other.gql<{ customerContext: { consent: unknown } }>(
        query,
        { lookup: { userId: vip.userId } },
        { authorization: `Bearer ${h.sandbox.credentials.supervisorToken}` },
      );
      expect(asSupervisor.data?.customerContext.consent).toEqual({ setAt: expect.any(String) });
    } finally {
      await other.close();
    }
  });
});
