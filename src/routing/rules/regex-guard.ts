// CEL's `matches()` runs on JavaScript's backtracking RegExp here, not on RE2 as the CEL spec
// intends, and its input is customer data. Patterns are therefore checked when the rules load:
// they must be literals, and must not have the shapes that backtrack exponentially.
import type { ASTNode } from '@marcbachmann/cel-js';

/** The problem with the `matches()` calls in an expression, or null when there is none. */
export function findRegexProblem(ast: ASTNode): string | null {
  for (const pattern of matchesPatterns(ast)) {
    if (pattern.op !== 'value' || typeof pattern.args !== 'string') {
      return 'matches() takes a string literal pattern here, so that it can be checked when the rules load';
    }
    const problem = unsafePatternProblem(pattern.args);
    if (problem) return `matches("${pattern.args}"): ${problem}`;
  }
  return null;
}

function* matchesPatterns(node: ASTNode): Generator<ASTNode> {
  if (node.op === 'rcall' && node.args[0] === 'matches' && node.args[2][0]) yield node.args[2][0];
  if (node.op === 'call' && node.args[0] === 'matches' && node.args[1][1]) yield node.args[1][1];
  for (const child of childNodes(node.args)) yield* matchesPatterns(child);
}

function* childNodes(args: unknown): Generator<ASTNode> {
  if (Array.isArray(args)) {
    for (const item of args) yield* childNodes(item);
  } else if (isNode(args)) {
    yield args;
  }
}

function isNode(value: unknown): value is ASTNode {
  return value !== null && typeof value === 'object' && typeof (value as { op?: unknown }).op === 'string';
}

/**
 * A conservative version of the "star height" test (as in the safe-regex package): a group that
 * repeats may contain neither a variable quantifier nor an alternation, because those give the
 * engine exponentially (or for `{n}`, polynomially) many ways to split the same input.
 * Back-references are refused too.
 */
export function unsafePatternProblem(pattern: string): string | null {
  try {
    new RegExp(pattern);
  } catch {
    return 'not a valid regular expression';
  }
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not allowed';

  const groups: Array<{ risky: boolean }> = [{ risky: false }];
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i];
    if (char === '\\') {
      i += 2;
    } else if (char === '[') {
      i = endOfClass(pattern, i) + 1;
    } else if (char === '(') {
      groups.push({ risky: false });
      i += pattern[i + 1] === '?' ? 2 : 1;
    } else if (char === ')') {
      const group = groups.pop() ?? { risky: false };
      const parent = groups[groups.length - 1] ?? { risky: false };
      const quantifier = quantifierAt(pattern, i + 1);
      if (quantifier.repeats && group.risky) {
        return 'a repeated group contains a quantifier or an alternation (exponential backtracking; use a character class)';
      }
      parent.risky ||= group.risky || quantifier.variable;
      i += 1 + quantifier.length;
    } else {
      const quantifier = quantifierAt(pattern, i);
      if (quantifier.variable || char === '|') groups[groups.length - 1].risky = true;
      i += Math.max(1, quantifier.length);
    }
  }
  return null;
}

function endOfClass(pattern: string, start: number): number {
  for (let i = start + 1; i < pattern.length; i += 1) {
    if (pattern[i] === '\\') i += 1;
    else if (pattern[i] === ']') return i;
  }
  return pattern.length;
}

/**
 * `repeats`: the preceding atom may match more than once. `variable`: it may match a varying
 * number of times, which is what gives the engine a choice (`{3}` does not, `?` does).
 */
function quantifierAt(pattern: string, index: number): { length: number; repeats: boolean; variable: boolean } {
  const char = pattern[index];
  if (char === '*' || char === '+') return { length: lazySuffix(pattern, index + 1) + 1, repeats: true, variable: true };
  if (char === '?') return { length: lazySuffix(pattern, index + 1) + 1, repeats: false, variable: true };
  if (char === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(index));
    if (match) {
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      return { length: match[0].length + lazySuffix(pattern, index + match[0].length), repeats: max > 1, variable: max > min };
    }
  }
  return { length: 0, repeats: false, variable: false };
}

function lazySuffix(pattern: string, index: number): number {
  return pattern[index] === '?' ? 1 : 0;
}
