import { isValidPhoneNumber } from 'libphonenumber-js';
import { SandboxStore } from './data';
import { COMPUTED_TRAITS, phoneNumber, seedCustomers, seedWorld, type SandboxCustomer } from './seed';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function seed(customers: number, seedValue = 42): SandboxStore {
  const world = seedWorld(seedValue);
  return new SandboxStore(world, seedCustomers(world, { customers, seed: seedValue, now: NOW, phoneIdType: 'phone' }), 'phone', seedValue, () => NOW.getTime());
}

/** Everything a customer carries, lazily generated parts included. */
const snapshot = (customers: SandboxCustomer[]): string => JSON.stringify(customers);

describe('seed', () => {
  const store = seed(200);

  it('gives identical data, ids and timestamps for the same seed', () => {
    expect(snapshot(seed(200).customers)).toBe(snapshot(store.customers));
    expect(seedWorld(42)).toEqual(seedWorld(42));
  });

  it('gives different ids for another seed', () => {
    const other = seed(200, 7);
    expect(other.customers[0].profileId).not.toBe(store.customers[0].profileId);
    expect(seedWorld(7).accountSid).not.toBe(seedWorld(42).accountSid);
  });

  it('does not depend on the customer count or on which lazy parts were read first', () => {
    const small = seed(20);
    // read in another order than the big one
    small.customers[15].conversations.forEach((c) => c.messages);
    void small.customers[12].events;
    expect(snapshot(small.customers)).toBe(snapshot(store.customers.slice(0, 20)));
  });

  it('places the fixed archetypes at indexes 0..5, regular customers after', () => {
    expect(store.customers.slice(0, 7).map((c) => c.archetype)).toEqual([
      'vip',
      'new',
      'anonymous_only',
      'whatsapp_only',
      'no_profile',
      'long_history',
      'regular',
    ]);
    expect(store.byArchetype('long_history').index).toBe(5);
    expect(() => seed(3).byArchetype('vip')).not.toThrow();
    expect(() => seed(3).byArchetype('long_history')).toThrow(/no 'long_history' customer/);
  });

  it('makes ids that look real', () => {
    for (const customer of store.customers) {
      if (customer.profileId !== null) expect(customer.profileId).toMatch(/^use_[0-9A-Za-z]{27}$/);
      for (const conversation of customer.conversations) {
        expect(conversation.sid).toMatch(/^CH[0-9a-f]{32}$/);
        expect(conversation.customer.sid).toMatch(/^MB[0-9a-f]{32}$/);
        for (const message of conversation.messages) expect(message.sid).toMatch(/^IM[0-9a-f]{32}$/);
      }
      for (const task of customer.tasks) expect(task.sid).toMatch(/^WT[0-9a-f]{32}$/);
    }
    const world = seedWorld(42);
    expect(world.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(world.workspaceSid).toMatch(/^WS[0-9a-f]{32}$/);
    expect(world.chatServiceSid).toMatch(/^IS[0-9a-f]{32}$/);
    expect(world.workflowSid).toMatch(/^WW[0-9a-f]{32}$/);
    expect(world.agents.map((a) => a.workerSid)).toEqual(world.agents.map((): unknown => expect.stringMatching(/^WK[0-9a-f]{32}$/)));
  });

  it('gives every phone a valid, unique E.164 number and unknownPhone() one nobody has', () => {
    const phones = store.customers.map((c) => c.phone).filter((p): p is string => p !== null);
    expect(phones.every((p) => isValidPhoneNumber(p))).toBe(true);
    expect(new Set(phones).size).toBe(phones.length);
    expect(isValidPhoneNumber(store.unknownPhone())).toBe(true);
    expect(phones).not.toContain(store.unknownPhone());
    // past the fictional 555-01XX range, numbers stay valid and distinct
    const far = [30_000, 30_001, 123_456, 2_000_000].map(phoneNumber);
    expect(far.every((p) => isValidPhoneNumber(p))).toBe(true);
    expect(new Set(far).size).toBe(far.length);
  });

  it('keeps events newest first within the last 14 days', () => {
    for (const customer of store.customers) {
      const times = customer.events.map((e) => Date.parse(e.timestamp));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      for (const t of times) {
        expect(t).toBeLessThanOrEqual(NOW.getTime());
        expect(t).toBeGreaterThan(NOW.getTime() - 14 * DAY);
      }
    }
  });

  it('seeds the vip archetype', () => {
    const vip = store.byArchetype('vip');
    expect(vip).toMatchObject({ userId: expect.any(String), email: expect.stringContaining('@'), phone: expect.stringMatching(/^\+1\d{10}$/) });
    expect(Object.keys(vip.traits).length).toBeGreaterThan(25);
    const listed = Object.keys(vip.traits).length + Object.keys(vip.audiences).length;
    expect(Math.ceil(listed / 10)).toBeGreaterThan(2);
    expect(Math.ceil(listed / 20)).toBe(2);
    expect(vip.traits).toMatchObject({ language: 'en', plan: 'platinum', lifetime_value: expect.any(Number), last_purchase_at: expect.any(String) });
    expect(vip.traits.churn_risk).toBeGreaterThanOrEqual(0);
    expect(vip.traits.churn_risk).toBeLessThanOrEqual(1);
    expect(Object.keys(vip.traits).some((k) => COMPUTED_TRAITS.has(k))).toBe(true);
    expect(vip.audiences).toEqual({ vip: true, high_value: true, churn_risk_high: false });
    expect(vip.events.length).toBeGreaterThanOrEqual(25);
    const lastHour = vip.events.filter((e) => Date.parse(e.timestamp) > NOW.getTime() - HOUR).map((e) => e.event);
    expect(lastHour).toEqual(expect.arrayContaining(['Order Completed', 'Checkout Started']));
    expect(vip.conversations).toHaveLength(3);
    expect(vip.conversations.every((c) => c.channel === 'sms' && c.address === vip.phone)).toBe(true);
    expect(vip.conversations.filter((c) => Date.parse(c.dateCreated) > NOW.getTime() - DAY)).toHaveLength(2);
    expect(vip.conversations.filter((c) => c.state === 'active')).toHaveLength(1);
    for (const conversation of vip.conversations) {
      expect(conversation.messages.length).toBeGreaterThanOrEqual(5);
      expect(conversation.messages.map((m) => m.author)).toEqual(conversation.messages.map((_, i) => (i % 2 === 0 ? vip.phone : conversation.agent.identity)));
      expect(conversation.dateUpdated).toBe(conversation.messages[conversation.messages.length - 1].dateCreated);
    }
  });

  it('seeds the new, anonymous_only, whatsapp_only and no_profile archetypes', () => {
    const fresh = store.byArchetype('new');
    expect(fresh).toMatchObject({ userId: expect.any(String), email: expect.any(String), phone: null, conversations: [] });
    expect(fresh.events).toHaveLength(1);
    expect(JSON.parse(fresh.tasks[0].attributes)).toEqual({ channelType: 'email', direction: 'inbound', customers: { email: fresh.email } });

    const anonymous = store.byArchetype('anonymous_only');
    expect(anonymous).toMatchObject({ userId: null, email: null, phone: null, tasks: [] });
    expect(anonymous.anonymousIds.length).toBeGreaterThan(0);
    expect(anonymous.events.length).toBeGreaterThan(1);
    expect(anonymous.events.every((e) => e.type === 'page' && e.event === 'Page Viewed' && typeof e.properties.name === 'string')).toBe(true);

    const whatsapp = store.byArchetype('whatsapp_only');
    expect(whatsapp).toMatchObject({ userId: null, email: null, anonymousIds: [], traits: expect.objectContaining({ language: 'es' }) });
    expect(whatsapp.conversations.every((c) => c.address === `whatsapp:${whatsapp.phone}` && c.customer.messagingBinding?.type === 'whatsapp')).toBe(true);

    const twilioOnly = store.byArchetype('no_profile');
    expect(twilioOnly).toMatchObject({ profileId: null, userId: null, email: null, phone: expect.any(String) });
    expect(twilioOnly.conversations).toHaveLength(2);
    expect(twilioOnly.conversations.every((c) => c.channel === 'sms')).toBe(true);
  });

  it('seeds the long_history archetype big enough to need paging everywhere', () => {
    const long = store.byArchetype('long_history');
    expect(Object.keys(long.traits)).toHaveLength(150);
    expect(long.events).toHaveLength(250);
    expect(long.conversations).toHaveLength(60);
    expect(new Set(long.conversations.map((c) => c.channel))).toEqual(new Set(['sms', 'whatsapp']));
  });

  it('gives every customer with a phone one Flex-style pending task', () => {
    for (const customer of store.customers) {
      if (!customer.phone) {
        expect(customer.tasks.length).toBe(customer.archetype === 'new' ? 1 : 0);
        continue;
      }
      expect(customer.tasks).toHaveLength(1);
      const [task] = customer.tasks;
      expect(task.assignmentStatus).toBe('pending');
      const attributes = JSON.parse(task.attributes) as Record<string, unknown>;
      expect(attributes).toMatchObject({
        from: expect.any(String),
        customerAddress: attributes.from,
        direction: 'inbound',
        customers: { phone: customer.phone },
      });
      expect(['sms', 'whatsapp']).toContain(attributes.channelType);
      if (customer.conversations.length) expect(customer.conversations.map((c) => c.sid)).toContain(attributes.conversationSid);
    }
  });

  it('varies the regular customers', () => {
    const regular = store.customers.filter((c) => c.archetype === 'regular');
    const share = (p: (c: SandboxCustomer) => boolean): number => regular.filter(p).length / regular.length;
    expect(share((c) => c.phone !== null)).toBeGreaterThan(0.3);
    expect(share((c) => c.phone === null)).toBeGreaterThan(0.1);
    expect(share((c) => c.events.length === 0)).toBeGreaterThan(0);
    expect(Math.max(...regular.map((c) => c.events.length))).toBeLessThanOrEqual(40);
    expect(Math.max(...regular.map((c) => c.conversations.length))).toBeLessThanOrEqual(4);
    expect(share((c) => Object.keys(c.audiences).length > 0)).toBeGreaterThan(0.3);
    expect(new Set(regular.map((c) => c.profileId)).size).toBe(regular.length);
  });

  it('adds events and messages in order', () => {
    const s = seed(10);
    const vip = s.byArchetype('vip');
    const added = s.addEvent(vip, { event: 'Support Ticket Opened', properties: { topic: 'refund' } });
    expect(vip.events[0]).toBe(added);
    expect(added).toMatchObject({ type: 'track', related: { users: vip.profileId }, external_ids: [{ type: 'user_id', id: vip.userId }] });

    const conversation = vip.conversations[0];
    const before = conversation.messages.length;
    const message = s.addMessage(conversation.sid, { author: conversation.address, body: 'Still waiting' });
    expect(message).toMatchObject({ index: before, participantSid: conversation.customer.sid });
    expect(conversation.messages).toHaveLength(before + 1);
    expect(conversation.dateUpdated).toBe(message.dateCreated);
    expect(() => s.addMessage('CH' + '0'.repeat(32), { author: 'x', body: 'y' })).toThrow(/Unknown conversation/);
  });
});
