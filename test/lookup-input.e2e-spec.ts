import { CacheService } from '../src/cache/cache.service';
import { AuditLog } from '../src/pipeline/audit-log';
import { startHarness, type Harness } from './support/harness';

/**
 * Lookup input is checked before anything is built from it: a malformed sid or an over-long
 * identifier is a BAD_REQUEST that no cache key, audit line or upstream call has seen.
 */

const HEX = 'a'.repeat(32);

describe('lookup input validation (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const hostile: Array<[string, Record<string, string>]> = [
    ['a taskSid that is not a task sid', { taskSid: `WT${'z'.repeat(40_000)}` }],
    ['a conversationSid that is not a conversation sid', { conversationSid: 'CH-not-a-sid-0000000000000000000000000' }],
    ['a task sid given as conversationSid', { conversationSid: `WT${HEX}` }],
    ['an email over 254 characters', { email: `${'j'.repeat(250)}@example.com` }],
    ['a phone over 64 characters', { phone: `+1${'5'.repeat(80)}` }],
    ['a userId over 256 characters', { userId: 'u'.repeat(5_000) }],
    ['an anonymousId over 256 characters', { anonymousId: 'a'.repeat(257) }],
    ['an address over 256 characters', { address: `whatsapp:+1${'5'.repeat(300)}` }],
  ];

  it.each(hostile)('refuses %s with BAD_REQUEST before any cache, audit line or upstream call sees it', async (_name, lookup) => {
    const cache = h.app.get(CacheService);
    const spies = (['getOrSet', 'peek', 'put', 'update', 'delete'] as const).map((method) => jest.spyOn(cache, method));
    const audit = jest.spyOn(h.app.get(AuditLog), 'customerRead');
    h.sandbox.calls.reset();
    try {
      for (const query of [
        'query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId } }',
        'query($lookup: CustomerLookupInput!) { routingPreview(lookup: $lookup) { matchedRules } }',
        'mutation($lookup: CustomerLookupInput!) { refreshCustomerContext(lookup: $lookup) { profileId } }',
      ]) {
        const answer = await h.gql(query, { lookup });
        expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_REQUEST']);
        const value = Object.values(lookup)[0];
        expect(answer.errors?.[0].message).not.toContain(value.slice(0, 40));
      }
      const keys = spies.flatMap((spy) => spy.mock.calls.flatMap((call) => (Array.isArray(call[0]) ? call[0] : [call[0]])));
      // The caller's own token validation is the only thing looked up.
      expect(keys.filter((key) => !key.startsWith('auth:'))).toEqual([]);
      expect(audit).not.toHaveBeenCalled();
      const upstream =
        h.sandbox.calls.count({ service: 'segment' }) +
        h.sandbox.calls.count({ service: 'twilio' }) -
        h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' });
      expect(upstream).toBe(0);
    } finally {
      spies.forEach((spy) => spy.mockRestore());
      audit.mockRestore();
    }
  });

  it('refuses a malformed taskSid in enrichTask before the audit line', async () => {
    const audit = jest.spyOn(h.app.get(AuditLog), 'customerRead');
    try {
      const answer = await h.gql('mutation($sid: ID!) { enrichTask(taskSid: $sid) { matchedRules } }', { sid: `WT${'q'.repeat(5_000)}` });
      expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_REQUEST']);
      expect(audit).not.toHaveBeenCalled();
    } finally {
      audit.mockRestore();
    }
  });

  it('still answers well-formed lookups, found or not', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.email && c.phone)!;
    const found = await h.gql<{ customerContext: { profileId: string } | null }>(
      'query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId } }',
      {
        lookup: { email: customer.email, phone: customer.phone },
      },
    );
    expect(found.errors).toBeUndefined();
    expect(found.data?.customerContext?.profileId).toBe(customer.profileId);
    const unknown = await h.gql('query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId } }', {
      lookup: { taskSid: `WT${'0'.repeat(32)}`, conversationSid: `CH${'0'.repeat(32)}` },
    });
    expect(unknown.errors).toBeUndefined();
  });
});
