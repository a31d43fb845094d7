import { segmentIdentity, type TrackedCustomer } from './tracking-identity';

const customer = (overrides: Partial<TrackedCustomer>): TrackedCustomer => ({
  profileKey: null,
  resolvedBy: null,
  externalIds: [],
  addresses: [],
  ...overrides,
});
const KEY = 'write-key';

describe(segmentIdentity.name, () => {
  it("uses the customer's user_id, from their external ids or the identifier that found them", () => {
    const ids = [
      { type: 'anonymous_id', id: 'a1' },
      { type: 'user_id', id: 'u1' },
    ];
    expect(segmentIdentity(customer({ profileKey: 'use_1', externalIds: ids }), KEY)).toEqual({ userId: 'u1' });
    expect(segmentIdentity(customer({ resolvedBy: { type: 'user_id', id: 'u2' } }), KEY)).toEqual({ userId: 'u2' });
  });

  it('falls back to an anonymous_id, preferring the one the lookup used', () => {
    const ids = [
      { type: 'anonymous_id', id: 'a1' },
      { type: 'anonymous_id', id: 'a2' },
    ];
    expect(segmentIdentity(customer({ profileKey: 'use_1', externalIds: ids }), KEY)).toEqual({ anonymousId: 'a1' });
    expect(segmentIdentity(customer({ profileKey: 'use_1', externalIds: ids, resolvedBy: ids[1] }), KEY)).toEqual({ anonymousId: 'a2' });
  });

  it('otherwise sends a keyed pseudonym of the profile, never the identifier itself', () => {
    const byPhone = customer({ profileKey: 'phone:+12015550100', externalIds: [{ type: 'phone', id: '+12015550100' }], addresses: ['+12015550100'] });
    const identity = segmentIdentity(byPhone, KEY);
    expect(identity).toEqual({ anonymousId: expect.stringMatching(/^cc_[0-9a-f]{32}$/) });
    expect(JSON.stringify(identity)).not.toContain('2015550100');
    expect(segmentIdentity(byPhone, KEY)).toEqual(identity);
    expect(segmentIdentity(byPhone, 'another-key')).not.toEqual(identity);
  });

  it('gives a Twilio-only customer one pseudonym whichever channel or order their addresses came in', () => {
    const sms = segmentIdentity(customer({ addresses: ['+12015550199', 'b@example.com'] }), KEY);
    const whatsapp = segmentIdentity(customer({ addresses: ['b@example.com', 'whatsapp:+12015550199'] }), KEY);
    expect(whatsapp).toEqual(sms);
    expect(JSON.stringify(sms)).not.toMatch(/2015550199|example\.com/);
  });

  it('gives a customer with nothing stable a fresh id, so such views never merge into one', () => {
    const first = segmentIdentity(customer({}), KEY);
    const second = segmentIdentity(customer({}), KEY);
    expect(first).toEqual({ anonymousId: expect.any(String) });
    expect(second).not.toEqual(first);
  });
});
