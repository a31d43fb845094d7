// Every routing expression is compiled in this one CEL environment, so the variables and number
// semantics declared here are the language rule writers get (README.md describes it for them).
import { Environment, EvaluationError } from '@marcbachmann/cel-js';
import type { JsonObject, JsonValue } from './json-values';
import { findRegexProblem, LINEAR_MATCHES, linearMatches, matchesCalls, routeMatchesToRe2 } from './regex-guard';

/** Longer expressions belong in several rules; the cap also bounds parse work for a bad file. */
export const MAX_EXPRESSION_LENGTH = 2_000;

/** What an expression can read. `now` and `attributes` extend the designed `{ traits, audiences, signals, task }`. */
export interface CelContext {
  readonly traits: JsonObject;
  readonly audiences: string[];
  readonly signals: JsonObject;
  readonly task: JsonObject;
  /** The outcome so far: defaults overlaid by the rules above this one (all rules, for insights). */
  readonly attributes: JsonObject;
  /** CEL has no clock; one instant per evaluation keeps every rule consistent and tests exact. */
  readonly now: Date;
  /** The customer's consent: category id → consented; categories never collected are absent. */
  readonly consent: JsonObject;
  /** The first account linked to the customer (`{ groupId, traits }`); empty when none. */
  readonly account: JsonObject;
  /** When Segment last set each trait (epoch ms), for `traitAge`; not a CEL variable. */
  readonly traitUpdatedAt: Readonly<Record<string, number>>;
}

export interface CompiledExpression {
  readonly source: string;
  /** The statically inferred CEL type; `dyn` when it depends on the data. */
  readonly type: string;
  /** Throws when the expression fails on this data (missing key, wrong type). */
  run(context: CelContext): unknown;
  /**
   * The trait paths it names (`traits.address.city` → `address.city`, `traitAge("plan")` → `plan`,
   * `account.traits.tier` → `account.tier`), for consent refusals.
   */
  readonly reads: readonly string[];
  /** It names `account`: the customer's accounts must be read before it runs. */
  readonly readsAccount: boolean;
}

export type CompileResult =
  | { readonly expression: CompiledExpression; readonly problem?: undefined }
  | { readonly expression?: undefined; readonly problem: string };

/**
 * The context of the evaluation running now, for `traitAge`: CEL functions see their arguments
 * only. Evaluation is synchronous (no function here returns a promise), so the slot holds exactly
 * the one evaluation in progress.
 */
let evaluating: CelContext | null = null;

const environment = createEnvironment();
/** CEL's duration type, which the library does not export: taken from a value it makes. */
const Duration = (environment.evaluate('duration("0s")') as object).constructor as unknown as { fromMilliseconds(ms: number): unknown };

function createEnvironment(): Environment {
  const env = new Environment({
    // Mixed literals such as ["vip", 1] are ordinary JSON; rule writers should not need dyn().
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 1_000, maxDepth: 32, maxListElements: 200, maxMapEntries: 200, maxCallArguments: 8 },
  })
    .registerVariable('traits', 'map<string, dyn>')
    .registerVariable('audiences', 'list<string>')
    .registerVariable('signals', 'map<string, dyn>')
    .registerVariable('task', 'map<string, dyn>')
    .registerVariable('attributes', 'map<string, dyn>')
    .registerVariable('now', 'google.protobuf.Timestamp')
    .registerVariable('consent', 'map<string, dyn>')
    .registerVariable('account', 'map<string, dyn>');

  // JSON numbers reach CEL as double whether or not they are integral, while literals such as
  // `5` are int. Comparisons across the two already work; these overloads make arithmetic work
  // too (`signals.contacts24h * 5`), so a rule never depends on whether a value had a fraction.
  const arithmetic: Record<string, (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
  };
  for (const [op, apply] of Object.entries(arithmetic)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => apply(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => apply(Number(a), b));
  }
  env.registerOperator('int == double', (a: bigint, b: number) => Number(a) === b);
  // Where every `matches()` is routed (regex-guard.ts): RE2's linear time, not RegExp's backtracking.
  env.registerFunction(`string.${LINEAR_MATCHES}(string): bool`, (text: string, pattern: string) => linearMatches(text, pattern));
  env.registerFunction(`${LINEAR_MATCHES}(string, string): bool`, (text: string, pattern: string) => linearMatches(text, pattern));
  // How long ago Segment last set a trait (its `updated_at`), as of `now`: `traitAge("plan") <
  // duration("720h")`. A trait the profile lacks, or whose update time Segment did not give, has
  // no age: the call fails like reading a missing trait does (the rule does not match, and its
  // explanation says `unknown trait age in traitAge("plan")`).
  env.registerFunction('traitAge(string): google.protobuf.Duration', (key: string) => {
    const updatedAt = evaluating && Object.hasOwn(evaluating.traitUpdatedAt, key) ? evaluating.traitUpdatedAt[key] : undefined;
    if (updatedAt === undefined || !evaluating) throw new EvaluationError({ code: 'unknown_trait_age', message: 'the trait has no known update time' });
    return Duration.fromMilliseconds(Math.max(0, evaluating.now.getTime() - updatedAt));
  });
  return env;
}

export function compileExpression(source: string): CompileResult {
  if (source.trim() === '') return { problem: 'empty expression' };
  if (source.length > MAX_EXPRESSION_LENGTH) {
    return { problem: `expression is ${source.length} characters long (at most ${MAX_EXPRESSION_LENGTH})` };
  }
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    return { problem: describeCompileError('CEL syntax error', error, source) };
  }
  // Checking now turns typos (`trait.plan`) and type mistakes into load errors instead of a rule
  // that silently never matches; it also lets the library skip the check on each evaluation.
  const checked = parsed.check();
  if (!checked.valid) return { problem: describeCompileError('CEL type error', checked.error, source) };
  const regexProblem = findRegexProblem(parsed.ast);
  if (regexProblem) return { problem: `${regexProblem} in ${quote(source)}` };
  const linear = linearMatchesOf(source, parsed);
  if (!linear) return { problem: `matches() could not be routed to RE2 (write it as text.matches("pattern")) in ${quote(source)}` };
  return {
    expression: {
      source,
      type: checked.type ?? 'dyn',
      reads: traitReads(parsed.ast),
      readsAccount: namesVariable(parsed.ast, 'account'),
      run: (context): unknown => {
        const outer = evaluating;
        evaluating = context;
        try {
          return linear(context);
        } finally {
          evaluating = outer;
        }
      },
    },
  };
}

/** The expression with its `matches()` calls on RE2, checked again; null if any call is left on RegExp. */
function linearMatchesOf(source: string, parsed: ReturnType<Environment['parse']>): ReturnType<Environment['parse']> | null {
  if (matchesCalls(parsed.ast).next().done) return parsed;
  const routed = routeMatchesToRe2(source, parsed.ast);
  if (routed === null) return null;
  try {
    const reparsed = environment.parse(routed);
    return reparsed.check().valid && matchesCalls(reparsed.ast).next().done ? reparsed : null;
  } catch {
    return null;
  }
}

/** A YAML scalar written where an expression may stand (`vip: true`). */
export function constantExpression(value: JsonValue): CompiledExpression {
  return { source: JSON.stringify(value), type: 'dyn', reads: [], readsAccount: false, run: () => value };
}

type Node = { op: string; args: unknown };
const isNode = (value: unknown): value is Node => value !== null && typeof value === 'object' && typeof (value as Node).op === 'string';

/** Heads a chain from the `account` variable; no trait key can be it. */
const ACCOUNT = '\u0000account';

/**
 * The `traits.a.b` (and `traits["a"]`) paths an expression names, longest form only; an account's
 * traits (`account.traits.tier`) as `account.tier`, the naming the access policy and its consent
 * rules give them.
 */
function traitReads(ast: unknown): string[] {
  const reads = new Set<string>();
  const chain = (node: Node): string[] | null => {
    if (node.op === 'id') return node.args === 'traits' ? [] : node.args === 'account' ? [ACCOUNT] : null;
    const [target, key] = node.args as [unknown, unknown];
    if (!isNode(target)) return null;
    const name = node.op === '.' ? key : node.op === '[]' && isNode(key) && key.op === 'value' ? key.args : undefined;
    if (typeof name !== 'string') return null;
    const head = chain(target);
    return head === null ? null : [...head, name];
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isNode(value)) return;
    const [fn, args] = value.op === 'call' && Array.isArray(value.args) ? (value.args as [unknown, unknown]) : [];
    if (fn === 'traitAge' && Array.isArray(args) && isNode(args[0]) && args[0].op === 'value' && typeof args[0].args === 'string') {
      reads.add(args[0].args);
    }
    const path = value.op === '.' || value.op === '[]' ? chain(value) : null;
    if (path && path.length > 0) {
      if (path[0] !== ACCOUNT) reads.add(path.join('.'));
      // `account.traits.<key>`; `account.groupId` and the bare `account.traits` name no trait.
      else if (path[1] === 'traits' && path.length > 2) reads.add(['account', ...path.slice(2)].join('.'));
      return;
    }
    visit(value.args);
  };
  visit(ast);
  return [...reads];
}

/** Whether the expression reads a variable (`account.traits.tier` reads `account`). */
function namesVariable(ast: unknown, name: string): boolean {
  if (Array.isArray(ast)) return ast.some((item) => namesVariable(item, name));
  if (!isNode(ast)) return false;
  return ast.op === 'id' ? ast.args === name : namesVariable(ast.args, name);
}

/**
 * What went wrong when an expression ran, for explanations (which agents, logs and TaskRouter
 * see): the kind of error (CEL's error code) and the part of the rule's own text where it
 * happened. Never the library's message, which may quote the data (`No such key: <email>`).
 */
export function runErrorMessage(error: unknown): string {
  const { code, node } = (error ?? {}) as { code?: unknown; node?: { input?: unknown; start?: unknown; end?: unknown } };
  if (typeof code !== 'string' || !/^[a-z_]{1,40}$/.test(code)) return 'evaluation failed';
  const kind = code.replace(/_/g, ' ');
  if (typeof node?.input !== 'string' || typeof node.start !== 'number' || typeof node.end !== 'number') return kind;
  return `${kind} in ${quote(node.input.slice(node.start, node.end).replaceAll(LINEAR_MATCHES, 'matches'))}`;
}

/** One line, for load errors and logs; the library's own message adds a multi-line source excerpt. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const summary = (error as { summary?: unknown }).summary;
    return typeof summary === 'string' && summary !== '' ? summary : error.message.split('\n')[0];
  }
  return String(error);
}

function describeCompileError(kind: string, error: unknown, source: string): string {
  const start = (error as { range?: { start?: unknown } } | undefined)?.range?.start;
  return `${kind}${typeof start === 'number' ? ` at ${position(source, start)}` : ''}: ${errorMessage(error)} in ${quote(source)}`;
}

function position(source: string, offset: number): string {
  const before = source.slice(0, offset).split('\n');
  const column = `column ${before[before.length - 1].length + 1}`;
  return before.length > 1 ? `line ${before.length} ${column}` : column;
}

function quote(source: string): string {
  const oneLine = source.replace(/\s+/g, ' ').trim();
  return `\`${oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine}\``;
}
