import { join } from 'node:path';
import { loadRulesFile, parseRulesFile, RulesFileError } from './rules-file';

const EXAMPLE = join(__dirname, '../../../config/routing-rules.example.yaml');

/** The problems of a file that must not load. */
function problemsOf(yaml: string): readonly string[] {
  try {
    parseRulesFile(yaml, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(RulesFileError);
    return (error as RulesFileError).problems;
  }
  throw new Error('expected a RulesFileError');
}

function oneRule(body: string): string {
  return `rules:\n  - name: vip\n${body
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;
}

describe(parseRulesFile.name, () => {
  it('compiles a valid file', () => {
    const ruleSet = parseRulesFile(
      [
        'namespace: routing',
        'defaults: { vip: false, nested: { some_key: 1 } }',
        'rules:',
        '  - name: vip',
        '    description: VIP audience',
        '    when: \'"vip" in audiences\'',
        '    set: { vip: true, tier: \'"gold"\', boost: 3, note: null }',
        '  - name: always',
        "    set: { seen: 'true' }",
        'insights:',
        '  name: \'has(traits.name) ? traits.name : ""\'',
      ].join('\n'),
      'inline.yaml',
    );

    expect(ruleSet.namespace).toBe('routing');
    expect(ruleSet.defaults).toEqual({ vip: false, nested: { some_key: 1 } });
    expect(ruleSet.rules.map((rule) => rule.name)).toEqual(['vip', 'always']);
    expect(ruleSet.rules[0].description).toBe('VIP audience');
    expect(ruleSet.rules[0].set.map((entry) => entry.attribute)).toEqual(['vip', 'tier', 'boost', 'note']);
    expect(ruleSet.rules[1].when).toBeNull();
    expect(ruleSet.insights?.map((entry) => entry.key)).toEqual(['name']);
    expect(ruleSet.source).toBe('inline.yaml');
    expect(Object.isFrozen(ruleSet.defaults)).toBe(true);
  });

  it('defaults the namespace to customer_context and allows a file without rules', () => {
    const ruleSet = parseRulesFile('defaults: { vip: false }');

    expect(ruleSet.namespace).toBe('customer_context');
    expect(ruleSet.rules).toEqual([]);
    expect(ruleSet.insights).toBeNull();
  });

  it('loads the example file', async () => {
    const ruleSet = await loadRulesFile(EXAMPLE);

    expect(ruleSet.rules.map((rule) => rule.name)).toEqual([
      'known_customer',
      'language',
      'high_value',
      'vip',
      'churn_risk',
      'repeat_contact',
      'contact_counts',
      'recent_purchase',
      'priority',
    ]);
    expect(ruleSet.source).toBe(EXAMPLE);
  });

  describe('reports', () => {
    it('a YAML syntax error with its line', () => {
      expect(problemsOf('rules:\n  - name: vip\n    set: [\n')).toEqual([expect.stringMatching(/^YAML syntax error: .*at line 4, column 1$/)]);
    });

    it('a duplicate YAML key with its line', () => {
      expect(problemsOf('rules: []\nrules: []\n')).toEqual(['YAML syntax error: Map keys must be unique at line 2, column 1']);
    });

    it('a file that is not a mapping', () => {
      expect(problemsOf('- name: vip\n')).toEqual([expect.stringContaining('the file must be a mapping with "rules"')]);
      expect(problemsOf('')).toEqual([expect.stringContaining('the file must be a mapping with "rules"')]);
    });

    it('unknown top-level keys', () => {
      expect(problemsOf('rule: []\n')).toEqual(['top level: unknown key "rule" (known: namespace, defaults, rules, insights)']);
    });

    it('unknown keys in a rule, such as a misspelt when', () => {
      expect(problemsOf(oneRule("wen: 'true'\nset: { vip: true }"))).toEqual(['rules[0] "vip": unknown key "wen" (known: name, description, when, set)']);
    });

    it('rules that is not a list, and a rule that is not a mapping', () => {
      expect(problemsOf('rules: { name: vip }\n')).toEqual(['rules: must be a list']);
      expect(problemsOf('rules: [vip]\n')).toEqual(['rules[0]: must be a mapping with name, when and set']);
    });

    it('a missing name', () => {
      expect(problemsOf('rules:\n  - set: { vip: true }\n')).toEqual(['rules[0]: name is missing']);
    });

    it('a duplicate name, naming the first use', () => {
      expect(problemsOf(`${oneRule('set: { vip: true }')}  - name: vip\n    set: { tier: '"gold"' }\n`)).toEqual([
        'rules[1] "vip": name is already used by rules[0]',
      ]);
    });

    it('a name that is not snake_case', () => {
      expect(problemsOf('rules:\n  - name: VIP-customers\n    set: { vip: true }\n')).toEqual([
        'rules[0] "VIP-customers": name "VIP-customers" is not snake_case (^[a-z][a-z0-9_]*$)',
      ]);
      expect(problemsOf('rules:\n  - name: 7\n    set: { vip: true }\n')).toEqual(['rules[0]: name 7 is not snake_case (^[a-z][a-z0-9_]*$)']);
    });

    it('a missing or empty set', () => {
      expect(problemsOf(oneRule("when: 'true'"))).toEqual(['rules[0] "vip": set is missing']);
      expect(problemsOf(oneRule('set: {}'))).toEqual(['rules[0] "vip": set must be a non-empty mapping of attribute to expression']);
    });

    it('attribute keys that are not snake_case, in set and in defaults', () => {
      expect(problemsOf(oneRule("set: { priority-boost: '10' }"))).toEqual([
        'rules[0] "vip": set: attribute key "priority-boost" is not snake_case (^[a-z][a-z0-9_]*$); TaskRouter expressions reject hyphens',
      ]);
      expect(problemsOf('defaults: { Tier: standard, nested: { bad-key: 1 } }\n')).toEqual([
        expect.stringContaining('defaults: attribute key "Tier" is not snake_case'),
        expect.stringContaining('defaults.nested: attribute key "bad-key" is not snake_case'),
      ]);
    });

    it('set values that are neither an expression nor a scalar', () => {
      expect(problemsOf(oneRule('set: { tags: [a, b] }'))).toEqual([
        'rules[0] "vip": set.tags: must be a CEL expression string or a scalar (true, 3, null); write lists and maps in CEL',
      ]);
    });

    it('a CEL syntax error with the expression', () => {
      expect(problemsOf(oneRule("when: 'has(traits.'\nset: { vip: true }"))).toEqual([
        'rules[0] "vip": when: CEL syntax error at column 12: Expected IDENTIFIER, got EOF in `has(traits.`',
      ]);
    });

    it('a CEL type error, such as a misspelt variable', () => {
      expect(problemsOf(oneRule('when: \'trait.plan == "platinum"\'\nset: { vip: true }'))).toEqual([
        'rules[0] "vip": when: CEL type error at column 1: Unknown variable: trait in `trait.plan == "platinum"`',
      ]);
    });

    it('a bare word where a string literal was meant', () => {
      expect(problemsOf(oneRule('set: { tier: gold }'))).toEqual(['rules[0] "vip": set.tier: CEL type error at column 1: Unknown variable: gold in `gold`']);
    });

    it('a when that cannot yield bool', () => {
      expect(problemsOf(oneRule("when: 'size(audiences)'\nset: { vip: true }"))).toEqual([
        'rules[0] "vip": when: must yield bool, but `size(audiences)` yields int',
      ]);
    });

    it('an expression longer than 2,000 characters', () => {
      const longest = `traits.a == "${'x'.repeat(1986)}"`;
      expect(longest).toHaveLength(2000);

      expect(() => parseRulesFile(oneRule(`when: '${longest}'\nset: { vip: true }`))).not.toThrow();
      expect(problemsOf(oneRule(`when: '${longest} '\nset: { vip: true }`))).toEqual([
        'rules[0] "vip": when: expression is 2001 characters long (at most 2000)',
      ]);
    });

    it('regular expressions that RE2 does not accept, or that are not literals', () => {
      expect(problemsOf(oneRule('when: \'traits.email.matches("(a)\\\\1")\'\nset: { vip: true }'))).toEqual([
        expect.stringContaining('matches("(a)\\1"): not a valid RE2 regular expression'),
      ]);
      expect(problemsOf(oneRule('when: \'traits.email.matches("^(?=a)")\'\nset: { vip: true }'))).toEqual([
        expect.stringContaining('not a valid RE2 regular expression'),
      ]);
      expect(problemsOf(oneRule("when: 'traits.email.matches(traits.pattern)'\nset: { vip: true }"))).toEqual([
        expect.stringContaining('matches() takes a string literal pattern here'),
      ]);
      // Nested quantifiers cost RE2 nothing extra: linear whatever the pattern.
      expect(() => parseRulesFile(oneRule('when: \'traits.email.matches("^(a+)+$")\'\nset: { vip: true }'))).not.toThrow();
    });

    it('unknown and mistyped insights keys', () => {
      expect(problemsOf('insights:\n  customer_label_4: \'"x"\'\n  email: 3\n  phone: audiences\n')).toEqual([
        'insights: unknown key "customer_label_4" (allowed: name, email, phone, customer_label_1, customer_label_2, customer_label_3)',
        'insights.email: must be a CEL expression string',
        'insights.phone: must yield a string, but `audiences` yields list<string>',
      ]);
    });

    it('a namespace that is not snake_case or collides with customers', () => {
      expect(problemsOf('namespace: customer-context\n')).toEqual(['namespace: "customer-context" is not snake_case (^[a-z][a-z0-9_]*$)']);
      expect(problemsOf('namespace: customers\n')).toEqual(['namespace: "customers" is where the Flex Insights fields go; choose another key']);
    });

    it('every problem of the file in one error, one per line', () => {
      const yaml = ['extra: 1', 'rules:', '  - name: Bad-Name', '    set: { ok: true }', '  - name: language', "    when: 'has(traits.'", '    set: {}'].join(
        '\n',
      );

      let error: RulesFileError | undefined;
      try {
        parseRulesFile(yaml, 'config/rules.yaml');
      } catch (caught) {
        error = caught as RulesFileError;
      }

      expect(error?.problems).toHaveLength(4);
      expect(error?.message.split('\n')).toEqual([
        'Invalid routing rules in config/rules.yaml (4 problems):',
        '  - top level: unknown key "extra" (known: namespace, defaults, rules, insights)',
        '  - rules[0] "Bad-Name": name "Bad-Name" is not snake_case (^[a-z][a-z0-9_]*$)',
        '  - rules[1] "language": when: CEL syntax error at column 12: Expected IDENTIFIER, got EOF in `has(traits.`',
        '  - rules[1] "language": set must be a non-empty mapping of attribute to expression',
      ]);
    });

    it('at most 20 problems in the message, counting the rest', () => {
      const rules = Array.from({ length: 25 }, (_, i) => `  - name: rule_${i}\n`).join('');
      const error = (() => {
        try {
          parseRulesFile(`rules:\n${rules}`);
        } catch (caught) {
          return caught as RulesFileError;
        }
        throw new Error('expected a RulesFileError');
      })();

      expect(error.problems).toHaveLength(25);
      expect(error.message.split('\n')).toHaveLength(22);
      expect(error.message).toContain('  ... and 5 more');
    });
  });
});

describe(loadRulesFile.name, () => {
  it('reports a missing file as a RulesFileError', async () => {
    await expect(loadRulesFile('/nonexistent/rules.yaml')).rejects.toThrow(
      /^Invalid routing rules in \/nonexistent\/rules\.yaml \(1 problem\):\n {2}- cannot read the file: ENOENT/,
    );
  });
});
