// The built-in rules (used when ROUTING_RULES_FILE is unset) put no direct identifier on a task.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUNDLED_RULES_FILE } from '../routing.service';
import { evaluate } from './rule-engine';
import { loadRulesFile } from './rules-file';

const EXAMPLE = join(__dirname, '../../../config/routing-rules.example.yaml');

const identified = {
  traits: {
    name: 'Ada Lovelace',
    first_name: 'Ada',
    email: 'ada@example.com',
    phone: '+15555550101',
    plan: 'platinum',
    lifetime_value: 12000,
    language: 'en',
  },
  audiences: ['vip'],
  signals: { repeatContact24h: true, contacts24h: 2, openConversations: 1, lastPurchaseAt: '2025-06-12T09:30:00Z', lastSeenAt: '2025-06-15T11:58:00Z' },
  task: { channelType: 'sms', from: '+15555550101' },
  now: new Date('2025-06-15T12:00:00Z'),
};

describe('the built-in routing rules', () => {
  it('are config/routing-rules.default.yaml', () => {
    expect(BUNDLED_RULES_FILE).toBe(join(__dirname, '../../../config/routing-rules.default.yaml'));
  });

  it('stamp no name, email or phone: not in customers.*, not under the namespace', async () => {
    const outcome = evaluate(await loadRulesFile(BUNDLED_RULES_FILE), identified);
    const stamped = JSON.stringify({ attributes: outcome.attributes, insights: outcome.insights });
    for (const value of ['Ada', 'Lovelace', 'ada@example.com', '5555550101']) expect(stamped).not.toContain(value);
    expect(Object.keys(outcome.insights!).sort()).toEqual(['customer_label_1', 'customer_label_2']);
    // Still useful to route on.
    expect(outcome.attributes).toMatchObject({ vip: true, tier: 'gold', repeat_contact: true });
  });

  it('are the example rules less the identifiers, so the two files cannot drift apart', () => {
    const [builtIn, example] = [BUNDLED_RULES_FILE, EXAMPLE].map((file) => parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>);
    const { insights: builtInInsights, ...builtInRest } = builtIn;
    const { insights: exampleInsights, ...exampleRest } = example;
    expect(builtInRest).toEqual(exampleRest);
    const { name, email, phone, ...exampleLabels } = exampleInsights;
    expect([name, email, phone].every(Boolean)).toBe(true);
    expect(builtInInsights).toEqual(exampleLabels);
  });
});
