// Evaluates a RuleSet against what is known about a customer. It runs on every task, so it never
// throws for bad data: a failing expression is recorded in the explanations and routing goes on
// with the defaults and whatever the other rules produced.
import { runErrorMessage, type CelContext } from './cel';
import { UnsupportedValueError } from './json-values';
import { describeValue, isJsonObject, setOwn, toAudienceList, toCelMap, toJsonValue, type JsonObject, type JsonValue } from './json-values';
import type { CompiledRule, RoutingInput, RoutingOutcome, RuleExplanation, RuleSet } from './rule-set';

/** The `rule` of the explanation for the insights mapping; no rule name can take this form. */
export const INSIGHTS_EXPLANATION = '(insights)';

/**
 * Rules run in file order and each matched rule overwrites the attributes it sets, so when two
 * rules set the same attribute the later one in the file wins. A rule sees the attributes the
 * rules above it produced as `attributes`; insights expressions see the final ones.
 */
export function evaluate(ruleSet: RuleSet, input: RoutingInput): RoutingOutcome {
  const traits = toCelMap(input.traits);
  const base = {
    traits,
    audiences: toAudienceList(input.audiences),
    signals: toCelMap(input.signals),
    task: toCelMap(input.task),
    now: input.now ?? new Date(),
    consent: toCelMap(input.consent),
    account: toCelMap(input.account),
    traitUpdatedAt: updateTimes(traits, input.traitOrigins),
  };
  // A copy, so that callers may change the outcome. Not structuredClone: its objects belong to
  // Node's main realm, which the CEL library does not recognise as maps inside a vm (jest).
  let attributes = toJsonValue(ruleSet.defaults) as JsonObject;
  const matchedRules: string[] = [];
  const explanations: RuleExplanation[] = [];

  for (const rule of ruleSet.rules) {
    // Matched rules replace `attributes` instead of changing it: a rule's own expressions all see
    // the state from before the rule.
    const context: CelContext = { ...base, attributes };
    const refused = input.refuse ? refusal(rule, input.refuse) : null;
    if (refused) {
      explanations.push({
        rule: rule.name,
        matched: false,
        reason: `refused: reads traits.${refused.path}, hidden by the customer's consent (${refused.category})`,
      });
      continue;
    }
    const explanation = explainWhen(rule, context);
    if (explanation.matched) {
      matchedRules.push(rule.name);
      const { values, errors } = runSet(rule, context);
      attributes = { ...attributes, ...values };
      explanations.push({ ...explanation, set: values, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) });
    } else {
      explanations.push(explanation);
    }
  }

  let insights: Record<string, string> | null = null;
  if (ruleSet.insights) {
    const result = runInsights(ruleSet, { ...base, attributes });
    insights = result.values;
    explanations.push({
      rule: INSIGHTS_EXPLANATION,
      matched: true,
      reason: 'Flex Insights mapping',
      set: result.values,
      ...(result.errors.length > 0 ? { error: result.errors.join('; ') } : {}),
    });
  }
  return { attributes, matchedRules, insights, explanations };
}

/**
 * The task attributes after stamping: the outcome under the namespace, the insights merged into
 * `customers`, every other attribute as it was. A `customers` that is there but not an object
 * belongs to someone else's scheme: it is kept, and the insights are left out.
 */
export function applyToTaskAttributes(task: Readonly<Record<string, unknown>>, namespace: string, outcome: RoutingOutcome): Record<string, unknown> {
  const next: Record<string, unknown> = { ...task, [namespace]: outcome.attributes };
  if (outcome.insights && (task.customers === undefined || isJsonObject(task.customers))) {
    next.customers = { ...(task.customers ?? {}), ...outcome.insights };
  }
  return next;
}

/** Whether any expression of the rules names `account`: only then is a customer's account read for routing. */
export function readsAccount(ruleSet: RuleSet): boolean {
  const expressions = [...ruleSet.rules.flatMap((rule) => [rule.when, ...rule.set.map((s) => s.value)]), ...(ruleSet.insights ?? []).map((i) => i.value)];
  return expressions.some((expression) => expression?.readsAccount === true);
}

/** Update times of the traits the rules may read (consent may have left some out): those only. */
function updateTimes(traits: JsonObject, origins: RoutingInput['traitOrigins']): Record<string, number> {
  const times: Record<string, number> = {};
  for (const key of Object.keys(traits)) {
    const updatedAt = origins && Object.hasOwn(origins, key) ? origins[key]?.updatedAt : null;
    const at = updatedAt ? Date.parse(updatedAt) : Number.NaN;
    if (!Number.isNaN(at)) setOwn(times, key, at);
  }
  return times;
}

/** The first trait path the rule names that consent hides, with the category that hides it. */
function refusal(rule: CompiledRule, refuse: (path: string) => string | null): { path: string; category: string } | null {
  for (const expression of [rule.when, ...rule.set.map((s) => s.value)]) {
    for (const path of expression?.reads ?? []) {
      const category = refuse(path);
      if (category) return { path, category };
    }
  }
  return null;
}

function explainWhen(rule: CompiledRule, context: CelContext): RuleExplanation {
  if (!rule.when) return { rule: rule.name, matched: true, reason: 'no when: always matches' };
  try {
    const result = rule.when.run(context);
    if (typeof result === 'boolean') {
      return { rule: rule.name, matched: result, reason: result ? 'when is true' : 'when is false' };
    }
    return {
      rule: rule.name,
      matched: false,
      reason: 'when failed: not matched',
      error: `when yielded ${describeValue(result)}, expected bool`,
    };
  } catch (error) {
    return { rule: rule.name, matched: false, reason: 'when failed: not matched', error: describeRunError(error) };
  }
}

function runSet(rule: CompiledRule, context: CelContext): { values: Record<string, JsonValue>; errors: string[] } {
  const values: Record<string, JsonValue> = {};
  const errors: string[] = [];
  for (const { attribute, value } of rule.set) {
    try {
      setOwn(values, attribute, toJsonValue(value.run(context)));
    } catch (error) {
      errors.push(`set.${attribute}: ${describeRunError(error)}`);
    }
  }
  return { values, errors };
}

function runInsights(ruleSet: RuleSet, context: CelContext): { values: Record<string, string>; errors: string[] } {
  const values: Record<string, string> = {};
  const errors: string[] = [];
  for (const { key, value } of ruleSet.insights ?? []) {
    try {
      const result = toJsonValue(value.run(context));
      // Flex Insights fields are text; an absent value is left out rather than written as "null".
      if (result === null) continue;
      if (typeof result === 'object') throw new UnsupportedValueError(`yielded ${describeValue(result)}, expected string`);
      values[key] = String(result);
    } catch (error) {
      errors.push(`${key}: ${describeRunError(error)}`);
    }
  }
  return { values, errors };
}

/**
 * An explanation's error names the kind of failure and the rule's own text, never a value: the
 * data is a customer's, and explanations reach agents, logs and task attributes. Our own
 * UnsupportedValueError messages name types only.
 */
function describeRunError(error: unknown): string {
  return error instanceof UnsupportedValueError ? error.message : runErrorMessage(error);
}
