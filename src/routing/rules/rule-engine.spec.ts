import { applyToTaskAttributes, evaluate, INSIGHTS_EXPLANATION, readsAccount } from './rule-engine';
import { RulesFileError } from './rules-file';
import type { RoutingInput } from './rule-set';
import { parseRulesFile } from './rules-file';

const NOW = new Date('2025-06-15T12:00:00Z');

function input(overrides: Partial<RoutingInput> = {}): RoutingInput {
  return { traits: {}, audiences: [], signals: {}, task: {}, now: NOW, ...overrides };
}

function rules(yaml: string) {
  return parseRulesFile(yaml, 'test.yaml');
}

/** One rule that always matches and sets `value`, to look at what an expression yields. */
function valueOf(expression: string, overrides: Partial<RoutingInput> = {}) {
  const outcome = evaluate(rules(`rules:\n  - name: probe\n    set:\n      value: '${expression}'\n`), input(overrides));
  return { value: outcome.attributes.value, error: outcome.explanations[0].error };
}

describe(evaluate.name, () => {
  describe('defaults', () => {
    const ruleSet = rules(`
defaults: { vip: false, tier: "standard", nested: { level: 1 } }
rules:
  - name: vip
    when: '"vip" in audiences'
    set: { vip: true }
`);

    it('gives an unknown customer the defaults and matches nothing', () => {
      const outcome = evaluate(ruleSet, input());

      expect(outcome.attributes).toEqual({ vip: false, tier: 'standard', nested: { level: 1 } });
      expect(outcome.matchedRules).toEqual([]);
      expect(outcome.insights).toBeNull();
      expect(outcome.explanations).toEqual([{ rule: 'vip', matched: false, reason: 'when is false' }]);
    });

    it('treats absent or malformed inputs as empty', () => {
      const outcome = evaluate(ruleSet, {
        traits: null,
        audiences: undefined,
        signals: ['not', 'a', 'map'],
        task: null,
      });

      expect(outcome.attributes).toEqual({ vip: false, tier: 'standard', nested: { level: 1 } });
    });

    it('accepts interfaces without an index signature, such as the derived Signals', () => {
      interface Derived {
        repeatContact24h: boolean;
        lastPurchaseAt: string | null;
      }
      const signals: Derived = { repeatContact24h: true, lastPurchaseAt: null };

      expect(valueOf('signals.repeatContact24h && signals.lastPurchaseAt == null', { signals }).value).toBe(true);
    });

    it('returns attributes the caller may change without touching the rule set', () => {
      const first = evaluate(ruleSet, input());
      (first.attributes.nested as Record<string, unknown>).level = 2;
      first.attributes.tier = 'changed';

      expect(evaluate(ruleSet, input()).attributes).toEqual({ vip: false, tier: 'standard', nested: { level: 1 } });
    });
  });

  describe('order', () => {
    const ruleSet = rules(`
defaults: { tier: "standard" }
rules:
  - name: high_value
    when: '"high_value" in audiences'
    set: { tier: '"silver"', high_value: true }
  - name: vip
    when: '"vip" in audiences'
    set: { tier: '"gold"' }
  - name: always
    set: { seen: true }
`);

    it('lets a later matching rule override an earlier one', () => {
      const outcome = evaluate(ruleSet, input({ audiences: ['vip', 'high_value'] }));

      expect(outcome.attributes).toEqual({ tier: 'gold', high_value: true, seen: true });
      expect(outcome.matchedRules).toEqual(['high_value', 'vip', 'always']);
    });

    it('keeps the earlier value when the later rule does not match', () => {
      expect(evaluate(ruleSet, input({ audiences: ['high_value'] })).attributes.tier).toBe('silver');
    });

    it('always matches a rule without when', () => {
      const outcome = evaluate(ruleSet, input());

      expect(outcome.matchedRules).toEqual(['always']);
      expect(outcome.explanations[2]).toEqual({ rule: 'always', matched: true, reason: 'no when: always matches', set: { seen: true } });
    });

    it('shows each rule the attributes of the rules above it, not its own', () => {
      const outcome = evaluate(
        rules(`
defaults: { count: 0 }
rules:
  - name: first
    set: { count: 'attributes.count + 1', copy: 'attributes.count' }
  - name: second
    when: 'attributes.count == 1'
    set: { count: 'attributes.count + 1' }
`),
        input(),
      );

      expect(outcome.attributes).toEqual({ count: 2, copy: 0 });
    });
  });

  describe('run-time errors', () => {
    it('makes a failing when not match, with the error in the explanation', () => {
      const outcome = evaluate(
        rules(`
rules:
  - name: vip
    when: 'traits.plan == "platinum"'
    set: { vip: true }
`),
        input(),
      );

      expect(outcome.matchedRules).toEqual([]);
      expect(outcome.attributes).toEqual({});
      expect(outcome.explanations).toEqual([{ rule: 'vip', matched: false, reason: 'when failed: not matched', error: 'no such key in `traits.plan`' }]);
    });

    it('keeps the previous value of an attribute whose set expression fails, and sets the others', () => {
      const outcome = evaluate(
        rules(`
defaults: { tier: "standard", score: 0 }
rules:
  - name: scoring
    set:
      score: 'traits.lifetime_value / 100'
      tier: 'traits.plan + "!"'
      flagged: true
`),
        input({ traits: { lifetime_value: 'a lot', plan: 'gold' } }),
      );

      expect(outcome.attributes).toEqual({ tier: 'gold!', score: 0, flagged: true });
      expect(outcome.matchedRules).toEqual(['scoring']);
      expect(outcome.explanations[0]).toEqual({
        rule: 'scoring',
        matched: true,
        reason: 'no when: always matches',
        set: { tier: 'gold!', flagged: true },
        error: 'set.score: no such overload in `traits.lifetime_value / 100`',
      });
    });

    it("reports the kind of error and where in the rule it happened, never the customer's data", () => {
      const secretEmail = 'john.doe@example.com';
      const outcome = evaluate(
        rules(`
rules:
  - name: by_key
    when: 'traits[task.key] == "x"'
    set: { hit: true }
  - name: waits
    set:
      wait: 'duration(traits.wait)'
      big: 'int(traits.account)'
      size: 'traits.account.size() / size(audiences)'
insights:
  name: 'traits.name'
`),
        input({ traits: { wait: secretEmail, account: '9007199254740993', name: { first: secretEmail } }, task: { key: secretEmail } }),
      );

      expect(outcome.explanations).toEqual([
        { rule: 'by_key', matched: false, reason: 'when failed: not matched', error: 'no such key in `traits[task.key]`' },
        {
          rule: 'waits',
          matched: true,
          reason: 'no when: always matches',
          set: {},
          error:
            'set.wait: invalid duration in `duration(traits.wait)`; set.big: an integer outside the range a JSON number holds exactly; set.size: division by zero in `traits.account.size() / size(audiences)`',
        },
        { rule: INSIGHTS_EXPLANATION, matched: true, reason: 'Flex Insights mapping', set: {}, error: 'name: yielded map, expected string' },
      ]);
      expect(JSON.stringify(outcome.explanations)).not.toContain('john.doe');
      expect(JSON.stringify(outcome.explanations)).not.toContain('9007199254740993');
    });

    it('does not match a when that yields something other than bool', () => {
      const outcome = evaluate(rules("rules:\n  - name: odd\n    when: 'traits.flag'\n    set: { odd: true }\n"), input({ traits: { flag: 'yes' } }));

      expect(outcome.explanations).toEqual([{ rule: 'odd', matched: false, reason: 'when failed: not matched', error: 'when yielded string, expected bool' }]);
    });

    it('rejects values JSON cannot hold exactly instead of rounding them', () => {
      expect(valueOf('9007199254740993')).toEqual({
        value: undefined,
        error: 'set.value: an integer outside the range a JSON number holds exactly',
      });
      expect(valueOf('1.0 / 0.0')).toEqual({ value: undefined, error: 'set.value: Infinity is not a JSON number' });
      expect(valueOf('type(1)').error).toMatch(/^set\.value: a .* is not a JSON value$/);
    });
  });

  describe('matches()', () => {
    // Polynomial on a backtracking engine (seconds at this size); linear on RE2.
    const POLYNOMIAL = '^\\\\+?\\\\d*\\\\s*\\\\d*\\\\s*\\\\d*$';

    it('speaks RE2, the engine the CEL spec names, not JavaScript RegExp', () => {
      expect(valueOf('"ABC".matches("(?i)^abc$")')).toEqual({ value: true, error: undefined });
      expect(valueOf('"a.b".matches("^\\\\Qa.b\\\\E$") && !"axb".matches("^\\\\Qa.b\\\\E$")')).toEqual({ value: true, error: undefined });
      expect(valueOf('"order 42".matches("[0-9]+")')).toEqual({ value: true, error: undefined });
    });

    it('evaluates a polynomial pattern on 4 KB of customer data without a backtracking RegExp', () => {
      const exec = jest.spyOn(RegExp.prototype, 'exec');
      const test = jest.spyOn(RegExp.prototype, 'test');
      try {
        const ruleSet = rules(`rules:\n  - name: phone\n    set:\n      plausible: 'traits.phone.matches("${POLYNOMIAL}")'\n`);
        exec.mockClear();
        test.mockClear();
        const hostile = evaluate(ruleSet, input({ traits: { phone: `${'1'.repeat(4095)}x` } }));
        const fine = evaluate(ruleSet, input({ traits: { phone: '1'.repeat(4096) } }));
        expect(hostile.attributes).toEqual({ plausible: false });
        expect(fine.attributes).toEqual({ plausible: true });
        // The linear engine by construction: no call reached JavaScript's backtracking RegExp.
        expect(exec).not.toHaveBeenCalled();
        expect(test).not.toHaveBeenCalled();
      } finally {
        exec.mockRestore();
        test.mockRestore();
      }
    });
  });

  describe('values', () => {
    it('converts CEL ints (BigInt) to numbers', () => {
      const { value } = valueOf('2 + 3');

      expect(value).toBe(5);
      expect(typeof value).toBe('number');
    });

    it('converts maps and lists to plain objects and arrays, all the way down', () => {
      const { value } = valueOf('{"plan": traits.plan, "scores": [1, 2.5], "inner": {"n": 7}}', { traits: { plan: 'gold' } });

      expect(value).toEqual({ plan: 'gold', scores: [1, 2.5], inner: { n: 7 } });
      expect(JSON.parse(JSON.stringify(value))).toEqual(value);
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    });

    it('writes timestamps as RFC 3339 strings and durations as CEL writes them', () => {
      expect(valueOf('now').value).toBe('2025-06-15T12:00:00.000Z');
      expect(valueOf('duration("90m")').value).toBe('5400s');
    });

    it('sees nested objects, arrays, nulls and booleans from Segment as CEL maps, lists, null and bool', () => {
      const traits = { address: { city: 'Lyon' }, tags: ['a', 1, null], plan: null, active: true };

      expect(valueOf('traits.address.city == "Lyon" && traits.tags.size() == 3 && traits.active', { traits }).value).toBe(true);
      expect(valueOf('has(traits.plan) && traits.plan == null', { traits }).value).toBe(true);
      expect(valueOf('traits.tags.exists(t, t == "a")', { traits }).value).toBe(true);
    });

    it('does not expose prototype properties as keys', () => {
      const traits = JSON.parse('{"__proto__": "own", "plan": "gold"}') as Record<string, unknown>;

      expect(valueOf('has(traits.constructor) || has(traits.toString)', { traits }).value).toBe(false);
      expect(valueOf('traits["__proto__"]', { traits }).value).toBe('own');
    });

    it('reads Dates given as signals as ISO strings, so timestamp() accepts them', () => {
      const signals = { lastSeenAt: new Date('2025-06-15T11:00:00Z') };

      expect(valueOf('now - timestamp(signals.lastSeenAt) == duration("1h")', { signals }).value).toBe(true);
    });
  });

  describe('numbers', () => {
    it.each([
      [12000, true],
      [12000.5, true],
      [1000, false],
      [999.5, false],
    ])('compares lifetime_value %p with both 1000 and 1000.0', (lifetimeValue, expected) => {
      const traits = { lifetime_value: lifetimeValue };

      expect(valueOf('traits.lifetime_value > 1000', { traits }).value).toBe(expected);
      expect(valueOf('traits.lifetime_value > 1000.0', { traits }).value).toBe(expected);
    });

    it('does arithmetic between JSON numbers and int literals, whether or not the number has a fraction', () => {
      expect(valueOf('signals.contacts24h * 5', { signals: { contacts24h: 3 } }).value).toBe(15);
      expect(valueOf('traits.lifetime_value / 1000', { traits: { lifetime_value: 12500 } }).value).toBe(12.5);
      expect(valueOf('traits.lifetime_value / 1000', { traits: { lifetime_value: 12500.5 } }).value).toBe(12.5005);
      expect(valueOf('1 + signals.contacts24h', { signals: { contacts24h: 2 } }).value).toBe(3);
      expect(valueOf('size(audiences) + 0.5', { audiences: ['a'] }).value).toBe(1.5);
    });

    it('compares JSON numbers and literals for equality', () => {
      expect(valueOf('signals.contacts24h == 3', { signals: { contacts24h: 3 } }).value).toBe(true);
      expect(valueOf('signals.contacts24h == 3.0', { signals: { contacts24h: 3 } }).value).toBe(true);
      expect(valueOf('1 == 1.0').value).toBe(true);
      expect(valueOf('int(signals.contacts24h) == 3', { signals: { contacts24h: 3 } }).value).toBe(true);
    });
  });

  describe('insights', () => {
    const ruleSet = rules(`
defaults: { tier: "standard" }
rules:
  - name: vip
    when: '"vip" in audiences'
    set: { tier: '"gold"' }
insights:
  name: 'traits.name'
  email: 'has(traits.email) ? traits.email : null'
  phone: 'traits.phone'
  customer_label_1: 'attributes.tier'
  customer_label_2: 'traits.visits'
`);

    it('yields text, leaves out nulls, sees the final attributes and explains failures', () => {
      const outcome = evaluate(ruleSet, input({ traits: { name: 'Ada', visits: 4, phone: ['+1'] }, audiences: ['vip'] }));

      expect(outcome.insights).toEqual({ name: 'Ada', customer_label_1: 'gold', customer_label_2: '4' });
      expect(outcome.matchedRules).toEqual(['vip']);
      expect(outcome.explanations[1]).toEqual({
        rule: INSIGHTS_EXPLANATION,
        matched: true,
        reason: 'Flex Insights mapping',
        set: { name: 'Ada', customer_label_1: 'gold', customer_label_2: '4' },
        error: 'phone: yielded list, expected string',
      });
    });
  });

  it('evaluates the same rule set 10,000 times', () => {
    const ruleSet = rules(`
defaults: { vip: false }
rules:
  - name: vip
    when: '"vip" in audiences || (has(traits.plan) && traits.plan == "platinum")'
    set: { vip: true, boost: 'size(audiences) * 10' }
`);
    const customer = input({ traits: { plan: 'platinum' }, audiences: ['vip', 'high_value'] });

    let outcome = evaluate(ruleSet, customer);
    for (let i = 1; i < 10_000; i += 1) outcome = evaluate(ruleSet, customer);

    expect(outcome.attributes).toEqual({ vip: true, boost: 20 });
  });
});

describe('traitAge', () => {
  const ruleSet = rules(`
rules:
  - name: fresh_plan
    when: 'traitAge("plan") < duration("720h")'
    set: { plan_age_hours: 'int(traitAge("plan").getHours())' }
`);
  const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString();
  const run = (traitOrigins: RoutingInput['traitOrigins'], traits: Record<string, unknown> = { plan: 'gold' }) =>
    evaluate(ruleSet, input({ traits, traitOrigins })).explanations[0];

  it("is how long ago Segment last set the trait, as of the evaluation's now", () => {
    expect(run({ plan: { updatedAt: at(2) } })).toMatchObject({ matched: true, set: { plan_age_hours: 48 } });
    expect(run({ plan: { updatedAt: at(31) } })).toMatchObject({ matched: false, reason: 'when is false' });
  });

  it('fails like a missing trait, naming the call and no value, when the trait or its update time is unknown', () => {
    const unknown = { matched: false, reason: 'when failed: not matched', error: 'unknown trait age in `traitAge("plan")`' };
    expect(run({ plan: { updatedAt: null } })).toEqual({ rule: 'fresh_plan', ...unknown });
    expect(run(undefined)).toEqual({ rule: 'fresh_plan', ...unknown });
    // An update time without the trait (consent left the trait out) is no age either.
    expect(run({ plan: { updatedAt: at(2) } }, {})).toEqual({ rule: 'fresh_plan', ...unknown });
  });

  it('is type-checked when the file loads, and names the trait for consent refusals', () => {
    expect(() => rules(`rules:\n  - name: bad\n    when: 'traitAge("plan") < 720'\n    set: { x: 1 }\n`)).toThrow(RulesFileError);
    expect(() => rules(`rules:\n  - name: bad\n    when: 'traitAge(1) < duration("1h")'\n    set: { x: 1 }\n`)).toThrow(RulesFileError);
    const refused = evaluate(ruleSet, input({ traits: { plan: 'gold' }, refuse: (path) => (path === 'plan' ? 'Personalization' : null) }));
    expect(refused.explanations[0]).toMatchObject({ matched: false, reason: expect.stringContaining('reads traits.plan') });
  });
});

describe('account', () => {
  const ruleSet = rules(`
defaults: { priority: 0 }
rules:
  - name: enterprise_account
    when: 'has(account.traits) && account.traits.tier == "enterprise"'
    set: { priority: 100, account_id: account.groupId }
`);

  it('reads the first linked account, and an empty map when there is none', () => {
    const enterprise = { groupId: 'grp_1', traits: { tier: 'enterprise' } };
    expect(evaluate(ruleSet, input({ account: enterprise })).attributes).toEqual({ priority: 100, account_id: 'grp_1' });
    expect(evaluate(ruleSet, input({ account: { groupId: 'grp_2', traits: { tier: 'smb' } } })).attributes).toEqual({ priority: 0 });
    expect(evaluate(ruleSet, input({ account: null })).attributes).toEqual({ priority: 0 });
  });

  it("names the account's traits it reads as account.<key> for consent refusals, and refuses the rule", () => {
    const refuse = (path: string) => (path === 'account.tier' ? 'Personalization' : null);
    const outcome = evaluate(ruleSet, input({ account: { groupId: 'grp_1', traits: { tier: 'enterprise' } }, refuse }));
    expect(outcome.attributes).toEqual({ priority: 0 });
    expect(outcome.explanations[0]).toEqual({
      rule: 'enterprise_account',
      matched: false,
      reason: "refused: reads traits.account.tier, hidden by the customer's consent (Personalization)",
    });
    // account.groupId and the bare account.traits name no trait.
    const paths: string[] = [];
    evaluate(ruleSet, input({ account: null, refuse: (path) => (paths.push(path), null) }));
    expect(paths).toEqual(['account.tier']);
  });

  it('says whether a rules file names account at all, so routing reads accounts only then', () => {
    expect(readsAccount(ruleSet)).toBe(true);
    expect(readsAccount(rules(`rules:\n  - name: vip\n    when: '"vip" in audiences'\n    set: { vip: true }\n`))).toBe(false);
    expect(readsAccount(rules(`rules:\n  - name: a\n    set: { tier: 'has(account.traits) ? "x" : "y"' }\n`))).toBe(true);
  });
});

describe(applyToTaskAttributes.name, () => {
  it('puts the outcome under the namespace, merges insights into customers and keeps everything else', () => {
    const task = { channelType: 'whatsapp', customers: { external_id: 'x1', name: 'old' }, customer_context: { stale: true } };
    const outcome = { attributes: { vip: true }, matchedRules: ['vip'], insights: { name: 'Ada' }, explanations: [] };

    expect(applyToTaskAttributes(task, 'customer_context', outcome)).toEqual({
      channelType: 'whatsapp',
      customers: { external_id: 'x1', name: 'Ada' },
      customer_context: { vip: true },
    });
    expect(task.customer_context).toEqual({ stale: true });
  });

  it('keeps a customers attribute that is not an object, and leaves the insights out', () => {
    const task = { customers: 'crm-42' };
    const outcome = { attributes: { vip: false }, matchedRules: [], insights: { name: 'Ada' }, explanations: [] };

    expect(applyToTaskAttributes(task, 'customer_context', outcome)).toEqual({ customers: 'crm-42', customer_context: { vip: false } });
  });

  it('leaves customers alone when there is no insights mapping', () => {
    const task = { customers: { name: 'kept' } };

    expect(applyToTaskAttributes(task, 'routing', { attributes: {}, matchedRules: [], insights: null, explanations: [] })).toEqual({
      customers: { name: 'kept' },
      routing: {},
    });
  });
});
