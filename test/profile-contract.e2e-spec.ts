import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';

/**
 * The service against a Profile API that accepts only what Segment documents (the sandbox):
 * `type:value` identifiers, a failed read shown as a failure, and a forced refresh that keeps
 * what the agent saw when Segment or Twilio fails.
 */

const QUERY = /* GraphQL */ `
  query Context($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) {
      profileId
      traits
      audiences
      events(first: 5) { totalCount }
      conversations(first: 5) { totalCount }
      routing { degraded degradedReason }
      freshness { stale sources { source stale error } }
    }
  }`;
const REFRESH = QUERY.replace('query Context', 'mutation Refresh').replace('customerContext(', 'refreshCustomerContext(');

interface Context {
  profileId: string | null;
  traits: Record<string, unknown>;
  audiences: string[];
  events: { totalCount: number };
  conversations: { totalCount: number };
  routing: { degraded: boolean; degradedReason: string | null };
  freshness: { stale: boolean; sources: Array<{ source: string; stale: boolean; error: string | null }> };
}

describe('Segment Profile API contract (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ sandbox: { customers: 40 } });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.sandbox.faults.clear();
    h.sandbox.calls.reset();
  });

  const ask = async (lookup: Record<string, unknown>, query = QUERY): Promise<Context> => {
    const result = await h.gql<Record<string, Context | null>>(query, { lookup });
    expect(result.errors).toBeUndefined();
    const answer = Object.values(result.data ?? {})[0];
    expect(answer).not.toBeNull();
    return answer as Context;
  };
  const sourceError = (ctx: Context, source: string) => ctx.freshness.sources.find((s) => s.source === source)?.error ?? null;
  const segmentPaths = () =>
    h.sandbox.calls
      .log()
      .filter((c) => c.service === 'segment')
      .map((c) => c.path);
  /** The n-th customer with a profile, a user_id, a phone and conversations; each test has its own (nothing cached yet). */
  const withProfile = (n: number): SandboxCustomer =>
    h.sandbox.data.customers.filter((c) => c.archetype !== 'vip' && c.profileId && c.userId && c.phone && c.conversations.length > 0)[n];

  it('reads a demo customer by documented type:value identifiers only, never a bare use_ id', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const ctx = await ask({ phone: vip.phone });
    expect(ctx.profileId).toBe(vip.profileId);
    expect(ctx.traits).toMatchObject({ first_name: vip.traits.first_name, plan: vip.traits.plan });
    expect([...ctx.audiences].sort()).toEqual(
      Object.entries(vip.audiences)
        .filter(([, v]) => v)
        .map(([k]) => k)
        .sort(),
    );
    expect(ctx.events.totalCount).toBe(vip.events.length);
    expect(ctx.freshness.stale).toBe(false);

    const paths = segmentPaths();
    expect(paths.length).toBeGreaterThanOrEqual(4);
    for (const path of paths) {
      expect(path).toMatch(/\/collections\/users\/profiles\/[a-z_]+:[^/]+\/(external_ids|traits|events)\?/);
      expect(path).not.toMatch(/\/profiles\/use_/);
    }
    // Resolved by the phone, its + escaped as the docs ask; read by the profile's user_id.
    expect(paths.filter((p) => p.includes('/external_ids?'))).toEqual([
      expect.stringContaining(`/profiles/phone:${encodeURIComponent(vip.phone as string)}/external_ids?`),
    ]);
    expect(encodeURIComponent(vip.phone as string)).toMatch(/^%2B/);
    for (const path of paths.filter((p) => !p.includes('/external_ids?')))
      expect(path).toContain(`/profiles/user_id:${encodeURIComponent(vip.userId as string)}/`);
  });

  it('shows a 404 on /traits after /external_ids resolved as an error of that source, caches nothing empty, and resolves again next time', async () => {
    const customer = withProfile(0);
    const lookup = { phone: customer.phone };
    h.sandbox.faults.add({ service: 'segment', route: 'traits', status: 404 });
    const gone = await ask(lookup);
    expect(gone.profileId).toBe(customer.profileId);
    expect(sourceError(gone, 'segment.traits')).toBe('PROFILE_NOT_FOUND');
    expect(sourceError(gone, 'segment.audiences')).toBe('PROFILE_NOT_FOUND');
    expect(gone.freshness.stale).toBe(true);
    expect(gone.traits).not.toHaveProperty('first_name');
    expect(gone.routing).toEqual({ degraded: true, degradedReason: expect.stringContaining('segment.traits PROFILE_NOT_FOUND') });
    // The same answer through routing's own entry point is degraded too.
    const preview = await h.gql<{ routingPreview: { degraded: boolean } }>(
      'query($lookup: CustomerLookupInput!) { routingPreview(lookup: $lookup) { degraded } }',
      { lookup },
    );
    expect(preview.data?.routingPreview.degraded).toBe(true);

    h.sandbox.faults.clear();
    h.sandbox.calls.reset();
    const back = await ask(lookup);
    // Nothing empty was kept: the traits are read again, and so is the resolution.
    expect(h.sandbox.calls.count({ service: 'segment', route: 'external_ids' })).toBe(1);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'traits' })).toBeGreaterThanOrEqual(1);
    expect(back.traits).toMatchObject({ first_name: customer.traits.first_name });
    expect(back.freshness.stale).toBe(false);
    expect(back.routing.degraded).toBe(false);
  });

  it('refreshCustomerContext while Segment and Twilio answer 500 keeps the last good values, stale, with the error', async () => {
    const customer = withProfile(1);
    const lookup = { userId: customer.userId, phone: customer.phone };
    const before = await ask(lookup);
    expect(before.traits).toMatchObject({ first_name: customer.traits.first_name });
    expect(before.conversations.totalCount).toBe(customer.conversations.length);

    h.sandbox.faults.add({ service: 'segment', status: 500 });
    h.sandbox.faults.add({ service: 'twilio', status: 500 });
    const refreshed = await ask(lookup, REFRESH);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'traits', status: 500 })).toBeGreaterThanOrEqual(1);
    expect(refreshed.profileId).toBe(customer.profileId);
    expect(refreshed.traits).toEqual(before.traits);
    expect(refreshed.audiences).toEqual(before.audiences);
    expect(refreshed.events.totalCount).toBe(before.events.totalCount);
    expect(refreshed.conversations.totalCount).toBe(before.conversations.totalCount);
    expect(refreshed.freshness.stale).toBe(true);
    expect(refreshed.freshness.sources.find((s) => s.source === 'segment.traits')).toEqual({
      source: 'segment.traits',
      stale: true,
      error: 'UPSTREAM_UNAVAILABLE',
    });
    expect(sourceError(refreshed, 'twilio.conversations')).toBe('UPSTREAM_UNAVAILABLE');
    expect(refreshed.routing.degraded).toBe(true);

    // Once Segment is back, a refresh reads it again and the answer is fresh.
    h.sandbox.faults.clear();
    const recovered = await ask(lookup, REFRESH);
    expect(recovered.traits).toEqual(before.traits);
    expect(recovered.freshness.stale).toBe(false);
  });
});
