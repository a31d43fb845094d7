// CEL specifies `matches()` on RE2, whose time is linear in the input. The CEL library runs it on
// JavaScript's backtracking RegExp instead, and its input is customer data: a pattern as plain as
// `^\+?\d*\s*\d*$` takes seconds on a few kilobytes there. So every `matches()` in a rule is routed,
// when the rules load, to a function evaluated by RE2JS (a port of RE2): linear by construction,
// whatever the pattern. Patterns must be literals, so that each is compiled, and refused, at load.
import type { ASTNode } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';

/** The function `matches()` calls are routed to; registered in the CEL environment (cel.ts). */
export const LINEAR_MATCHES = 're2_matches';

/** The problem with the `matches()` calls in an expression, or null when there is none. */
export function findRegexProblem(ast: ASTNode): string | null {
  for (const call of matchesCalls(ast)) {
    const pattern = call.pattern;
    if (pattern?.op !== 'value' || typeof pattern.args !== 'string') {
      return 'matches() takes a string literal pattern here, so that it can be checked when the rules load';
    }
    const problem = re2PatternProblem(pattern.args);
    if (problem) return `matches("${pattern.args}"): ${problem}`;
  }
  return null;
}

/** Null when RE2 compiles the pattern, else what RE2 says is wrong with it. */
export function re2PatternProblem(pattern: string): string | null {
  try {
    compiled(pattern);
    return null;
  } catch (error) {
    return `not a valid RE2 regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * The source with every `matches` call renamed to LINEAR_MATCHES, located through the parsed
 * tree (so `"matches"` in a string is left alone). Null when a call cannot be located in the
 * text (a comment between receiver and name): the caller refuses the expression.
 */
export function routeMatchesToRe2(source: string, ast: ASTNode): string | null {
  const starts: number[] = [];
  for (const call of matchesCalls(ast)) {
    if (!call.receiver) {
      const at = source.indexOf('matches', call.start);
      if (at < 0 || source.slice(call.start, at).trim() !== '') return null;
      starts.push(at);
    } else {
      const receiverEnd = call.receiver.end;
      const gap = /^[\s)]*\.\s*/.exec(source.slice(receiverEnd));
      const at = receiverEnd + (gap?.[0].length ?? 0);
      if (!gap || !source.startsWith('matches', at)) return null;
      starts.push(at);
    }
  }
  let routed = source;
  for (const at of starts.sort((a, b) => b - a)) routed = `${routed.slice(0, at)}${LINEAR_MATCHES}${routed.slice(at + 'matches'.length)}`;
  return routed;
}

/** CEL's `matches()`: true when the pattern matches any part of the text (RE2's partial match). */
export function linearMatches(text: string, pattern: string): boolean {
  return compiled(pattern).test(text);
}

const MAX_COMPILED = 1_000;
const compiledPatterns = new Map<string, RE2JS>();

function compiled(pattern: string): RE2JS {
  let re = compiledPatterns.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    // Patterns are literals of the rules file; a long run of reloads must still not grow this.
    if (compiledPatterns.size >= MAX_COMPILED) compiledPatterns.clear();
    compiledPatterns.set(pattern, re);
  }
  return re;
}

/** A `matches` call: receiver form (`x.matches(p)`) or global form (`matches(x, p)`, no receiver). */
export interface MatchesCall {
  readonly start: number;
  readonly receiver: ASTNode | null;
  readonly pattern: ASTNode | undefined;
}

export function* matchesCalls(node: ASTNode): Generator<MatchesCall> {
  if (node.op === 'rcall' && node.args[0] === 'matches') yield { start: node.start, receiver: node.args[1], pattern: node.args[2][0] };
  if (node.op === 'call' && node.args[0] === 'matches') yield { start: node.start, receiver: null, pattern: node.args[1][1] };
  for (const child of childNodes(node.args)) yield* matchesCalls(child);
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
