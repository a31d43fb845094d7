// The example rules file against the sandbox's four kinds of demo customer.
import { join } from 'node:path';
import { evaluate } from './rule-engine';
import type { RoutingInput, RuleSet } from './rule-set';
import { loadRulesFile } from './rules-file';

const NOW = new Date('2025-06-15T12:00:00Z');
const DEFAULTS = {
  known_customer: false,
  vip: false,
  high_value: false,
  tier: 'standard',
  language: 'en',
  churn_risk: false,
  repeat_contact: false,
  contacts_24h: 0,
  open_conversations: 0,
  recent_purchase: false,
  priority_boost: 0,
};

const vip: RoutingInput = {
  traits: {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    phone: '+15555550101',
    plan: 'platinum',
    lifetime_value: 12000,
    churn_risk: 0.2,
    language: 'en',
  },
  audiences: ['vip', 'high_value'],
  signals: {
    repeatContact24h: false,
    contacts24h: 1,
    openConversations: 0,
    lastPurchaseAt: '2025-06-12T09:30:00Z',
    lastSeenAt: '2025-06-15T11:58:00Z',
  },
  task: { channelType: 'voice' },
  now: NOW,
};

const spanishWhatsApp: RoutingInput = {
  traits: { name: 'Lucía Fernández', phone: '+34600000002', language: 'es' },
  audiences: [],
  signals: { repeatContact24h: true, contacts24h: 3, openConversations: 1, lastSeenAt: '2025-06-15T10:00:00Z' },
  task: { channelType: 'whatsapp', from: 'whatsapp:+34600000002' },
  now: NOW,
};

// Signals as src/context/signals.ts derives them: absent dates are null, not missing.
const newCustomer: RoutingInput = {
  traits: { email: 'new.customer@example.com', created_at: '2025-06-14T08:00:00Z' },
  audiences: [],
  signals: { repeatContact24h: false, contacts24h: 1, openConversations: 1, lastSeenAt: '2025-06-15T11:59:00Z', lastPurchaseAt: null },
  task: { channelType: 'chat' },
  now: NOW,
};

const anonymous: RoutingInput = {
  traits: {},
  audiences: [],
  signals: { repeatContact24h: false, contacts24h: 0, openConversations: 0, lastSeenAt: null, lastPurchaseAt: null },
  task: { channelType: 'voice', from: '+15555550199' },
  now: NOW,
};

describe('config/routing-rules.example.yaml', () => {
  let ruleSet: RuleSet;

  beforeAll(async () => {
    ruleSet = await loadRulesFile(join(__dirname, '../../../config/routing-rules.example.yaml'));
  });

  it('routes the VIP as a gold, high-value customer who bought recently', () => {
    const outcome = evaluate(ruleSet, vip);

    expect(outcome.attributes).toEqual({
      ...DEFAULTS,
      known_customer: true,
      vip: true,
      high_value: true,
      tier: 'gold',
      contacts_24h: 1,
      recent_purchase: true,
      priority_boost: 60,
    });
    expect(outcome.matchedRules).toEqual(['known_customer', 'language', 'high_value', 'vip', 'contact_counts', 'recent_purchase', 'priority']);
    expect(outcome.insights).toEqual({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      phone: '+15555550101',
      customer_label_1: 'platinum',
      customer_label_2: 'gold',
    });
  });

  it('routes the Spanish WhatsApp customer to Spanish, as a repeat contact', () => {
    const outcome = evaluate(ruleSet, spanishWhatsApp);

    expect(outcome.attributes).toEqual({
      ...DEFAULTS,
      known_customer: true,
      language: 'es',
      repeat_contact: true,
      contacts_24h: 3,
      open_conversations: 1,
      priority_boost: 20,
    });
    expect(outcome.insights).toEqual({
      name: 'Lucía Fernández',
      email: '',
      phone: '+34600000002',
      customer_label_1: 'none',
      customer_label_2: 'standard',
    });
  });

  it('routes a new customer with few traits as known but otherwise standard', () => {
    const outcome = evaluate(ruleSet, newCustomer);

    expect(outcome.attributes).toEqual({ ...DEFAULTS, known_customer: true, contacts_24h: 1, open_conversations: 1 });
    expect(outcome.insights).toEqual({
      name: '',
      email: 'new.customer@example.com',
      phone: '',
      customer_label_1: 'none',
      customer_label_2: 'standard',
    });
  });

  it('gives the anonymous customer the defaults', () => {
    const outcome = evaluate(ruleSet, anonymous);

    expect(outcome.attributes).toEqual(DEFAULTS);
    expect(outcome.matchedRules).toEqual(['contact_counts', 'priority']);
    expect(outcome.insights).toEqual({ name: '', email: '', phone: '', customer_label_1: 'none', customer_label_2: 'standard' });
  });

  it('runs without an expression error for any demo customer', () => {
    for (const customer of [vip, spanishWhatsApp, newCustomer, anonymous]) {
      expect(evaluate(ruleSet, customer).explanations.filter((explanation) => explanation.error)).toEqual([]);
    }
  });

  it('flags churn risk from the score or the audience, and normalises regional languages', () => {
    const byScore = evaluate(ruleSet, { ...anonymous, traits: { churn_risk: 0.85, language: 'ES-mx' } });
    const byAudience = evaluate(ruleSet, { ...anonymous, audiences: ['churn_risk_high'] });

    expect(byScore.attributes).toMatchObject({ churn_risk: true, language: 'es', priority_boost: 30 });
    expect(byAudience.attributes).toMatchObject({ churn_risk: true, priority_boost: 30 });
  });

  it('counts a purchase as recent for 7 days only', () => {
    const at = (lastPurchaseAt: string) => evaluate(ruleSet, { ...anonymous, signals: { lastPurchaseAt } }).attributes.recent_purchase;

    expect(at('2025-06-08T12:00:01Z')).toBe(true);
    expect(at('2025-06-08T11:59:59Z')).toBe(false);
  });
});
