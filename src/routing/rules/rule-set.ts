// The shapes shared by the loader, the engine and the watcher: a compiled rules file, what the
// engine is asked, and what it answers.
import type { CompiledExpression } from './cel';
import type { JsonObject, JsonValue } from './json-values';

export const DEFAULT_NAMESPACE = 'customer_context';

/** The Flex Insights `customers.*` attributes a rules file may fill, and nothing else. */
export const INSIGHTS_KEYS = ['name', 'email', 'phone', 'customer_label_1', 'customer_label_2', 'customer_label_3'] as const;
export type InsightsKey = (typeof INSIGHTS_KEYS)[number];

export interface CompiledRule {
  readonly name: string;
  readonly description?: string;
  /** Null when the rule has no `when`: it always matches. */
  readonly when: CompiledExpression | null;
  /** In file order, so an attribute set twice in one rule behaves like the YAML says (the last wins). */
  readonly set: ReadonlyArray<{ readonly attribute: string; readonly value: CompiledExpression }>;
}

/** A validated rules file, safe to share: the engine never mutates it. */
export interface RuleSet {
  /** The task attribute the outcome lands under. */
  readonly namespace: string;
  readonly defaults: Readonly<JsonObject>;
  /** In file order; a later rule overrides an earlier one for the same attribute. */
  readonly rules: readonly CompiledRule[];
  readonly insights: ReadonlyArray<{ readonly key: InsightsKey; readonly value: CompiledExpression }> | null;
  /** Where it was read from, for messages. */
  readonly source: string;
}

/**
 * A map of arbitrary JSON. `object` rather than `Record<string, unknown>` so that interfaces such
 * as `Signals`, which have no index signature, can be passed as they are.
 */
export type JsonInput = object | null | undefined;

/** What is known about the customer and the task. Values are arbitrary JSON, as Segment sends them. */
export interface RoutingInput {
  readonly traits: JsonInput;
  readonly audiences: readonly string[] | null | undefined;
  readonly signals: JsonInput;
  /** The task's current attributes. */
  readonly task: JsonInput;
  /** The instant `now` stands for in expressions; the current time when absent. */
  readonly now?: Date;
  /** The customer's consent, category id → consented (`consent` in expressions); empty when absent. */
  readonly consent?: JsonInput;
  /** When each trait was last set (ISO 8601, Segment's `updated_at`), for `traitAge`; absent or null: unknown. */
  readonly traitOrigins?: Readonly<Record<string, { readonly updatedAt: string | null }>>;
  /** The first account linked to the customer (`account` in expressions: `{ groupId, traits }`); empty when none. */
  readonly account?: JsonInput;
  /**
   * The consent category that hides a trait path from routing, or null. A rule that names such a
   * path is refused (not matched), and its explanation says which consent hides it.
   */
  readonly refuse?: (traitPath: string) => string | null;
}

export interface RuleExplanation {
  readonly rule: string;
  readonly matched: boolean;
  readonly reason: string;
  /** The values this rule wrote (only those that evaluated). */
  readonly set?: Record<string, JsonValue>;
  readonly error?: string;
}

export interface RoutingOutcome {
  /** Defaults overlaid with the `set` values of the matched rules, in file order. */
  attributes: Record<string, unknown>;
  matchedRules: string[];
  /** The `customers.*` values; null when the rules file has no `insights`. */
  insights: Record<string, string> | null;
  explanations: RuleExplanation[];
}
