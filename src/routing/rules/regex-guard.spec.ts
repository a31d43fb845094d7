import { unsafePatternProblem } from './regex-guard';

describe(unsafePatternProblem.name, () => {
  it.each([
    '^[a-z0-9._%+-]+@example\\.com$',
    '^\\+34',
    '(vip|gold)$',
    '^(ab)+$',
    '^(a+)?b',
    '[(a+)+]',
    '\\(a+\\)+',
    '^(?:[0-9]{3}-){2}[0-9]{4}$',
  ])('accepts %p', (pattern) => {
    expect(unsafePatternProblem(pattern)).toBeNull();
  });

  it.each([
    ['(a+)+$', 'a repeated group contains a quantifier'],
    ['^(a|aa)*$', 'a repeated group contains a quantifier or an alternation'],
    ['(x*y?){2,}', 'a repeated group contains a quantifier'],
    ['^((ab)+c)*$', 'a repeated group contains a quantifier'],
    ['(?:\\d+)+', 'a repeated group contains a quantifier'],
    ['(a)\\1', 'back-references are not allowed'],
    ['(', 'not a valid regular expression'],
  ])('refuses %p', (pattern, problem) => {
    expect(unsafePatternProblem(pattern)).toContain(problem);
  });
});
