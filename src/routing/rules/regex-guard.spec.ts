import { compileExpression } from './cel';
import { linearMatches, re2PatternProblem } from './regex-guard';

describe(re2PatternProblem.name, () => {
  it.each(['^[a-z0-9._%+-]+@example\\.com$', '^\\+34', '(vip|gold)$', '^(a+)+$', '^(a|aa)*$', '(?i)^gold', '^(?:[0-9]{3}-){2}[0-9]{4}$'])(
    'accepts %p',
    (pattern) => {
      expect(re2PatternProblem(pattern)).toBeNull();
    },
  );

  it.each(['(a)\\1', '(?=a)', '(?<!a)b', '('])('refuses %p, which RE2 does not speak', (pattern) => {
    expect(re2PatternProblem(pattern)).toContain('not a valid RE2 regular expression');
  });
});

describe(linearMatches.name, () => {
  it('matches any part of the text, as CEL specifies', () => {
    expect(linearMatches('order 42', '[0-9]+')).toBe(true);
    expect(linearMatches('order', '^[0-9]+$')).toBe(false);
  });
});

describe('matches() in an expression', () => {
  it('is routed to RE2 wherever it stands, and "matches" inside a string stays text', () => {
    const compiled = compileExpression('( traits.a ).matches("^(?i)x") && "matches".matches("^mat") && traits.b . matches ("matches")');
    expect(compiled.problem).toBeUndefined();
    const run = (a: string, b: string) =>
      compiled.expression!.run({
        traits: { a, b },
        audiences: [],
        signals: {},
        task: {},
        attributes: {},
        consent: {},
        account: {},
        traitUpdatedAt: {},
        now: new Date(0),
      });
    expect(run('X', 'it matches')).toBe(true);
    expect(run('y', 'it matches')).toBe(false);
  });
});
