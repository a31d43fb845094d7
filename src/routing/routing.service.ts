import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/config';
import type { Signals } from '../context/signals';
import type { ConsentView } from '../consent/consent';
import {
  applyToTaskAttributes,
  evaluate,
  loadRulesFile,
  readsAccount,
  watchRulesFile,
  type RoutingOutcome,
  type RuleExplanation,
  type RuleSet,
  type RulesWatcher,
} from './rules';

export interface DecisionInput {
  traits: Record<string, unknown>;
  audiences: string[];
  signals: Signals | null;
  task: Record<string, unknown>;
  /** The customer's consent: traits it hides are not there to read, rules naming them are refused, attributes it hides are left out. */
  consent?: ConsentView;
  /** When each trait was last set, for `traitAge` (the same verbose read as `traits`). */
  traitOrigins?: Record<string, { updatedAt: string | null }>;
  /** The first linked account, read only when `readsAccount()`; null: none. */
  account?: { groupId: string; traits: Record<string, unknown> } | null;
}

export interface Decision {
  /** The namespace of the rules that decided: a reload between deciding and stamping cannot mix two files. */
  namespace: string;
  /** `{ [namespace]: {...}, customers?: {...} }`: what lands on the task. */
  attributes: Record<string, unknown>;
  matchedRules: string[];
  explanations: RuleExplanation[];
  /** Decided without all of the customer's data (a source failed, or a deadline passed). */
  degraded: boolean;
  degradedReason: string | null;
  /** True only when this decision was just written onto a task. */
  stamped: boolean;
  outcome: RoutingOutcome;
}

/** Why a decision is degraded when sources failed (`source ERROR_CODE` each); undefined when none did. */
export function incompleteDataReason(failures: string[]): string | undefined {
  return failures.length > 0 ? `customer data incomplete: ${failures.join(', ')}` : undefined;
}

/** The rules file shipped with the service; it works on the sandbox's demo customers. */
export const BUNDLED_RULES_FILE = join(__dirname, '..', '..', 'config', 'routing-rules.default.yaml');

/**
 * Turns what is known about a customer into task attributes, by the rules in ROUTING_RULES_FILE.
 * A broken file stops the start; a broken edit while running keeps the last good rules.
 */
@Injectable()
export class RoutingService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RoutingService.name);
  private readonly path: string;
  private rules!: RuleSet;
  private watcher?: RulesWatcher;
  private readonly accountReaders = new WeakMap<RuleSet, boolean>();

  constructor(config: AppConfig) {
    this.path = config.routing.rulesFile ?? BUNDLED_RULES_FILE;
  }

  async onModuleInit(): Promise<void> {
    this.rules = await loadRulesFile(this.path);
    this.logger.log(`routing rules loaded from ${this.path}: ${this.rules.rules.length} rules`);
    this.watcher = watchRulesFile(
      this.path,
      (rules) => {
        this.rules = rules;
        this.logger.log(`routing rules reloaded: ${rules.rules.length} rules`);
      },
      (error) => this.logger.error(`routing rules not reloaded, keeping the last good ones: ${error.message}`),
    );
  }

  onModuleDestroy(): void {
    this.watcher?.close();
  }

  get namespace(): string {
    return this.rules.namespace;
  }

  /** Whether the rules name `account`: only then do decisions need the customer's accounts read. */
  readsAccount(): boolean {
    let reads = this.accountReaders.get(this.rules);
    if (reads === undefined) {
      reads = readsAccount(this.rules);
      this.accountReaders.set(this.rules, reads);
    }
    return reads;
  }

  /**
   * With `degradedReason`, the outcome also says so under the namespace (`degraded: true`,
   * `degraded_reason`), so a workflow can route such tasks on what little is known.
   */
  decide(input: DecisionInput, degradedReason?: string): Decision {
    const rules = this.rules;
    const consent = input.consent;
    const evaluated = evaluate(
      rules,
      consent
        ? {
            ...input,
            traits: consent.filter('traits', input.traits),
            // The account's traits as the consent rules name them, `traits.account.<key>`.
            account: input.account ? { ...input.account, traits: consent.accountTraits(input.account.traits) } : input.account,
            consent: consent.categories(),
            refuse: (path) => consent.refusal(path),
          }
        : input,
    );
    let outcome = degradedReason ? { ...evaluated, attributes: { ...evaluated.attributes, degraded: true, degraded_reason: degradedReason } } : evaluated;
    if (consent?.restricts) {
      // Routing paths the consent hides leave the outcome itself, so the task stamp lacks them too.
      const shown = consent.filter('routing', applyToTaskAttributes({}, rules.namespace, outcome));
      outcome = {
        ...outcome,
        attributes: (shown[rules.namespace] ?? {}) as Record<string, unknown>,
        insights: outcome.insights ? ((shown.customers ?? {}) as Record<string, string>) : null,
      };
    }
    return {
      namespace: rules.namespace,
      attributes: applyToTaskAttributes({}, rules.namespace, outcome),
      matchedRules: outcome.matchedRules,
      explanations: outcome.explanations,
      degraded: degradedReason !== undefined,
      degradedReason: degradedReason ?? null,
      stamped: false,
      outcome,
    };
  }
}
