// Data-driven routing without the framework: load, validate, evaluate and watch routing rules.
export { MAX_EXPRESSION_LENGTH } from './cel';
export type { JsonObject, JsonValue } from './json-values';
export { INPUT_LIMITS } from './json-values';
export { applyToTaskAttributes, evaluate, INSIGHTS_EXPLANATION, readsAccount } from './rule-engine';
export type { CompiledRule, InsightsKey, JsonInput, RoutingInput, RoutingOutcome, RuleExplanation, RuleSet } from './rule-set';
export { DEFAULT_NAMESPACE, INSIGHTS_KEYS } from './rule-set';
export { loadRulesFile, parseRulesFile, readRulesText, RulesFileError, MAX_RULES, SNAKE_CASE } from './rules-file';
export type { RulesWatcher, WatchRulesOptions } from './rules-watcher';
export { watchRulesFile } from './rules-watcher';
