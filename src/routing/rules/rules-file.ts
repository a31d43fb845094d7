// Reads and validates a routing rules file into a compiled RuleSet. Every problem in the file is
// collected and reported at once, so whoever edits the rules fixes them in one round.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { compileExpression, constantExpression, type CompiledExpression } from './cel';
import { isJsonObject, toJsonValue, type JsonObject, type JsonValue } from './json-values';
import { DEFAULT_NAMESPACE, INSIGHTS_KEYS, type CompiledRule, type InsightsKey, type RuleSet } from './rule-set';

/** TaskRouter workflow expressions cannot address keys with hyphens; one style keeps them readable. */
export const SNAKE_CASE = /^[a-z][a-z0-9_]*$/;
export const MAX_RULES = 200;
const MAX_FILE_BYTES = 1_000_000;
const MAX_PROBLEMS_SHOWN = 20;
const TOP_LEVEL_KEYS = ['namespace', 'defaults', 'rules', 'insights'];
const RULE_KEYS = ['name', 'description', 'when', 'set'];

export class RulesFileError extends Error {
  override readonly name = 'RulesFileError';

  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(formatProblems(source, problems));
  }
}

export async function loadRulesFile(path: string): Promise<RuleSet> {
  return parseRulesFile(await readRulesText(path), path);
}

/** The file's text; a missing or unreadable file is a RulesFileError like any other problem. */
export async function readRulesText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new RulesFileError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
}

/** @param source names the file in messages */
export function parseRulesFile(text: string, source = 'routing rules'): RuleSet {
  const problems: string[] = [];
  const root = readYaml(text, problems);
  if (problems.length > 0) throw new RulesFileError(source, problems);
  if (!isJsonObject(root)) {
    throw new RulesFileError(source, [`the file must be a mapping with "rules" (and optionally ${TOP_LEVEL_KEYS.filter((k) => k !== 'rules').join(', ')})`]);
  }

  checkKnownKeys(root, TOP_LEVEL_KEYS, 'top level', problems);
  const ruleSet: RuleSet = {
    namespace: readNamespace(root.namespace, problems),
    defaults: readDefaults(root.defaults, problems),
    rules: readRules(root.rules, problems),
    insights: readInsights(root.insights, problems),
    source,
  };
  if (problems.length > 0) throw new RulesFileError(source, problems);
  return Object.freeze(ruleSet);
}

function readYaml(text: string, problems: string[]): unknown {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    problems.push(`the file is larger than ${MAX_FILE_BYTES} bytes`);
    return null;
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const error of document.errors) {
    // The first line carries the position ("... at line 4, column 1:"); the rest is an excerpt.
    problems.push(`YAML syntax error: ${error.message.split('\n')[0].replace(/:$/, '')}`);
  }
  if (document.errors.length > 0) return null;
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    problems.push(`YAML error: ${(error as Error).message}`);
    return null;
  }
}

function readNamespace(value: unknown, problems: string[]): string {
  if (value === undefined) return DEFAULT_NAMESPACE;
  if (typeof value !== 'string' || !SNAKE_CASE.test(value)) {
    problems.push(`namespace: ${JSON.stringify(value)} is not snake_case (${SNAKE_CASE.source})`);
  } else if (value === 'customers') {
    problems.push('namespace: "customers" is where the Flex Insights fields go; choose another key');
  }
  return typeof value === 'string' ? value : DEFAULT_NAMESPACE;
}

function readDefaults(value: unknown, problems: string[]): JsonObject {
  if (value === undefined || value === null) return Object.freeze({});
  if (!isJsonObject(value)) {
    problems.push('defaults: must be a mapping of attribute to value');
    return {};
  }
  checkAttributeKeys(value, 'defaults', problems);
  try {
    return deepFreeze(toJsonValue(value) as JsonObject);
  } catch (error) {
    problems.push(`defaults: ${(error as Error).message}`);
    return {};
  }
}

function readRules(value: unknown, problems: string[]): readonly CompiledRule[] {
  if (value === undefined || value === null) return Object.freeze([]);
  if (!Array.isArray(value)) {
    problems.push('rules: must be a list');
    return [];
  }
  if (value.length > MAX_RULES) problems.push(`rules: ${value.length} rules (at most ${MAX_RULES})`);
  const firstIndexOfName = new Map<string, number>();
  const rules: CompiledRule[] = [];
  value.forEach((entry: unknown, index) => {
    const rule = readRule(entry, index, firstIndexOfName, problems);
    if (rule) rules.push(rule);
  });
  return Object.freeze(rules);
}

function readRule(entry: unknown, index: number, firstIndexOfName: Map<string, number>, problems: string[]): CompiledRule | null {
  if (!isJsonObject(entry)) {
    problems.push(`rules[${index}]: must be a mapping with name, when and set`);
    return null;
  }
  const name = entry.name;
  const where = typeof name === 'string' && name !== '' ? `rules[${index}] "${name}"` : `rules[${index}]`;
  const count = problems.length;
  checkKnownKeys(entry, RULE_KEYS, where, problems);

  if (name === undefined || name === null || name === '') {
    problems.push(`${where}: name is missing`);
  } else if (typeof name !== 'string' || !SNAKE_CASE.test(name)) {
    problems.push(`${where}: name ${JSON.stringify(name)} is not snake_case (${SNAKE_CASE.source})`);
  } else if (firstIndexOfName.has(name)) {
    problems.push(`${where}: name is already used by rules[${firstIndexOfName.get(name)}]`);
  } else {
    firstIndexOfName.set(name, index);
  }
  if (entry.description !== undefined && typeof entry.description !== 'string') {
    problems.push(`${where}: description must be a string`);
  }

  const when = readWhen(entry.when, `${where}: when`, problems);
  const set = readSet(entry.set, where, problems);
  if (problems.length > count) return null;
  return Object.freeze({
    name: name as string,
    ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
    when,
    set,
  });
}

function readWhen(value: unknown, where: string, problems: string[]): CompiledExpression | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return constantExpression(value);
  if (typeof value !== 'string') {
    problems.push(`${where}: must be a CEL expression string`);
    return null;
  }
  const expression = compile(value, where, problems);
  if (expression && expression.type !== 'bool' && expression.type !== 'dyn') {
    problems.push(`${where}: must yield bool, but \`${value}\` yields ${expression.type}`);
    return null;
  }
  return expression;
}

function readSet(value: unknown, where: string, problems: string[]): CompiledRule['set'] {
  if (!isJsonObject(value) || Object.keys(value).length === 0) {
    problems.push(`${where}: set ${value === undefined ? 'is missing' : 'must be a non-empty mapping of attribute to expression'}`);
    return [];
  }
  checkAttributeKeys(value, `${where}: set`, problems, false);
  const set: Array<CompiledRule['set'][number]> = [];
  for (const [attribute, source] of Object.entries(value)) {
    const at = `${where}: set.${attribute}`;
    if (typeof source === 'string') {
      const expression = compile(source, at, problems);
      if (expression) set.push({ attribute, value: expression });
    } else if (source === null || typeof source === 'boolean' || (typeof source === 'number' && Number.isFinite(source))) {
      set.push({ attribute, value: constantExpression(source) });
    } else {
      problems.push(`${at}: must be a CEL expression string or a scalar (true, 3, null); write lists and maps in CEL`);
    }
  }
  return Object.freeze(set);
}

function readInsights(value: unknown, problems: string[]): RuleSet['insights'] {
  if (value === undefined || value === null) return null;
  if (!isJsonObject(value)) {
    problems.push('insights: must be a mapping of Flex Insights field to expression');
    return null;
  }
  const insights: Array<{ key: InsightsKey; value: CompiledExpression }> = [];
  for (const [key, source] of Object.entries(value)) {
    const at = `insights.${key}`;
    if (!(INSIGHTS_KEYS as readonly string[]).includes(key)) {
      problems.push(`insights: unknown key "${key}" (allowed: ${INSIGHTS_KEYS.join(', ')})`);
    } else if (typeof source !== 'string') {
      problems.push(`${at}: must be a CEL expression string`);
    } else {
      const expression = compile(source, at, problems);
      if (expression && /^(list|map)/.test(expression.type)) {
        problems.push(`${at}: must yield a string, but \`${source}\` yields ${expression.type}`);
      } else if (expression) {
        insights.push({ key: key as InsightsKey, value: expression });
      }
    }
  }
  return Object.freeze(insights);
}

function compile(source: string, where: string, problems: string[]): CompiledExpression | null {
  const compiled = compileExpression(source);
  if (compiled.problem !== undefined) problems.push(`${where}: ${compiled.problem}`);
  return compiled.expression ?? null;
}

function checkKnownKeys(object: JsonObject, known: readonly string[], where: string, problems: string[]): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) problems.push(`${where}: unknown key "${key}" (known: ${known.join(', ')})`);
  }
}

function checkAttributeKeys(object: JsonObject, where: string, problems: string[], nested = true): void {
  for (const [key, value] of Object.entries(object)) {
    if (!SNAKE_CASE.test(key)) {
      problems.push(`${where}: attribute key "${key}" is not snake_case (${SNAKE_CASE.source}); TaskRouter expressions reject hyphens`);
    }
    if (nested && isJsonObject(value)) checkAttributeKeys(value, `${where}.${key}`, problems);
  }
}

function deepFreeze<T extends JsonValue>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function formatProblems(source: string, problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((problem) => `  - ${problem}`);
  if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`  ... and ${problems.length - MAX_PROBLEMS_SHOWN} more`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return [`Invalid routing rules in ${source} (${count}):`, ...shown].join('\n');
}
