import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { CustomerRoot, type CustomerContextService } from '../context/customer-context.service';
import type { Signals } from '../context/signals';
import { ConsentRules } from '../consent/consent';
import type { ConsentService } from '../consent/consent.service';
import { CustomerRouting } from './customer-routing.service';
import { parseRulesFile } from './rules';
import { RoutingService } from './routing.service';

const RULES = parseRulesFile(`
defaults: { vip: false, language: "en" }
rules:
  - name: vip
    when: '"vip" in audiences'
    set: { vip: true }
  - name: spanish_task
    when: 'has(task.lang) && task.lang == "es"'
    set: { language: '"es"' }
`);
const SIGNALS: Signals = {
  repeatContact24h: false,
  contacts24h: 0,
  openConversations: 0,
  lastSeenAt: null,
  lastPurchaseAt: null,
  lastSentiment: null,
  lastSentimentAt: null,
  escalationRequested24h: false,
  doNotContact: false,
  lastNoteSentiment: null,
  lastNoteAt: null,
};

function routingWith(resolve: () => Promise<CustomerRoot | null>, sourceError?: string) {
  const contexts = {
    resolve: jest.fn(resolve),
    profileTraits: async () => ({ traits: { plan: 'platinum' }, origins: {} }),
    audiences: async (root: CustomerRoot) => {
      if (sourceError) root.record('segment.audiences', { fetchedAt: null, stale: true, error: sourceError });
      return sourceError ? [] : ['vip'];
    },
    signals: async () => SIGNALS,
  } as unknown as CustomerContextService;
  const router = new RoutingService({ routing: {} } as AppConfig);
  Object.assign(router, { rules: RULES });
  // No consent rules: the consent view lets everything through and reads nothing.
  const consent = { view: async () => ConsentRules.NONE.view({ categories: {}, setAt: null, known: true }) } as unknown as ConsentService;
  return { routing: new CustomerRouting(contexts, router, consent), contexts };
}
const customer = () =>
  new CustomerRoot('use_1', null, [], [], { sid: 'WT1', attributes: { lang: 'es' }, etag: '0', assignmentStatus: 'pending', taskChannel: null });

describe(CustomerRouting.name, () => {
  it('decides on the customer when the data arrives in time', async () => {
    const { routing } = routingWith(async () => customer());
    const decision = await routing.decideBy(routing.factsFor({ phone: '+15555550100' }), {}, Date.now() + 1_000);
    expect(decision).toMatchObject({ degraded: false, degradedReason: null, attributes: { customer_context: { vip: true } } });
  });

  it('decides on the defaults, degraded, when the deadline passes first', async () => {
    const { routing } = routingWith(() => new Promise(() => undefined));
    // The customer's data never comes: a decision at all is one the deadline made.
    const decision = await routing.decideBy(routing.factsFor({ phone: '+15555550100' }), { lang: 'es' }, Date.now() + 30);

    expect(decision.attributes).toEqual({
      customer_context: { vip: false, language: 'es', degraded: true, degraded_reason: 'customer data not ready by the deadline' },
    });
  });

  it('marks the decision degraded when a source failed, naming it', async () => {
    const { routing } = routingWith(async () => customer(), 'UPSTREAM_UNAVAILABLE');
    const decision = await routing.decideBy(routing.factsFor({ phone: '+15555550100' }), {}, Date.now() + 1_000);
    expect(decision).toMatchObject({ degraded: true, degradedReason: 'customer data incomplete: segment.audiences UPSTREAM_UNAVAILABLE' });
  });

  it('gives an unknown customer the defaults, not degraded', async () => {
    const { routing } = routingWith(async () => null);
    const decision = await routing.decideBy(routing.factsFor({ phone: '+15555550100' }), {}, Date.now() + 1_000);
    expect(decision).toMatchObject({ degraded: false, attributes: { customer_context: { vip: false, language: 'en' } } });
  });

  it('degrades instead of failing when reading the customer throws', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { routing } = routingWith(async () => {
      throw new Error('bug');
    });
    const decision = await routing.decideBy(routing.factsFor({}), {}, Date.now() + 1_000);
    expect(decision).toMatchObject({ degraded: true, attributes: { customer_context: { vip: false } } });
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });

  it("previews with the lookup task's attributes unless others are given", async () => {
    const { routing } = routingWith(async () => customer());
    expect((await routing.preview({ taskSid: 'WT1' }, null)).attributes).toMatchObject({ customer_context: { language: 'es' } });
    expect((await routing.preview({ taskSid: 'WT1' }, { lang: 'fr' })).attributes).toMatchObject({ customer_context: { language: 'en' } });
  });
});
