import { Injectable, Logger } from '@nestjs/common';
import { CustomerContextService, type CustomerRoot } from '../context/customer-context.service';
import type { Signals } from '../context/signals';
import type { LookupInput } from '../identity/identity';
import type { ConsentView } from '../consent/consent';
import { ConsentService } from '../consent/consent.service';
import { incompleteDataReason, RoutingService, type Decision } from './routing.service';

/** What the rules read about a customer, and which sources failed while reading it. */
export interface CustomerFacts {
  traits: Record<string, unknown>;
  /** When each trait was last set (`traitAge`). */
  traitOrigins?: Record<string, { updatedAt: string | null }>;
  /** The first linked account, when the rules name `account`. */
  account?: { groupId: string; traits: Record<string, unknown> } | null;
  audiences: string[];
  signals: Signals | null;
  /** `source ERROR_CODE` for each source that failed: the decision rests on less than usual. */
  failures: string[];
  /** Who the facts are about (null: nobody found), for tracking what routing did. */
  customer: CustomerRoot | null;
  /** What the customer consented to (absent: nobody found, nothing to hide). */
  consent?: ConsentView;
}

const NOTHING_KNOWN: CustomerFacts = { traits: {}, audiences: [], signals: null, failures: [], customer: null };

/**
 * Routing decisions from what is known about a customer. Callers that route a task cannot wait
 * for a slow Segment: past their deadline they get the rules' defaults, marked degraded, and the
 * reads go on in the background (they warm the cache for the next task).
 */
@Injectable()
export class CustomerRouting {
  private readonly logger = new Logger(CustomerRouting.name);

  constructor(
    private readonly contexts: CustomerContextService,
    private readonly router: RoutingService,
    private readonly consent: ConsentService,
  ) {}

  /** Starts reading; never rejects. An unknown customer has no facts, which is not a failure. */
  async factsFor(lookup: LookupInput): Promise<CustomerFacts> {
    try {
      return await this.factsOf(await this.contexts.resolve(lookup));
    } catch (error) {
      this.logger.error({ err: error }, 'reading the customer for routing failed');
      return { ...NOTHING_KNOWN, failures: ['customer INTERNAL'] };
    }
  }

  /** Decides on the facts if they arrive by `deadlineAt` (epoch ms), else on none, degraded. */
  async decideBy(facts: Promise<CustomerFacts>, task: Record<string, unknown>, deadlineAt: number): Promise<Decision> {
    const known = await settledBy(facts, deadlineAt);
    if (!known) return this.router.decide({ ...NOTHING_KNOWN, task }, 'customer data not ready by the deadline');
    return this.decideOn(known, task);
  }

  /** A dry run without a deadline: what the rules give for this customer now. */
  async preview(lookup: LookupInput, taskAttributes: Record<string, unknown> | null): Promise<Decision> {
    return this.decideFor(await this.contexts.resolve(lookup), taskAttributes);
  }

  /**
   * The decision for a customer the request resolved (`CustomerContext.routing`, and a preview):
   * on `taskAttributes` when given, else on the task their lookup came through.
   */
  async decideFor(root: CustomerRoot | null, taskAttributes: Record<string, unknown> | null = null): Promise<Decision> {
    return this.decideOn(await this.factsOf(root), taskAttributes ?? root?.task?.attributes ?? {});
  }

  private decideOn(facts: CustomerFacts, task: Record<string, unknown>): Decision {
    return this.router.decide(
      {
        traits: facts.traits,
        traitOrigins: facts.traitOrigins,
        account: facts.account,
        audiences: facts.audiences,
        signals: facts.signals,
        task,
        consent: facts.consent,
      },
      incompleteDataReason(facts.failures),
    );
  }

  private async factsOf(root: CustomerRoot | null): Promise<CustomerFacts> {
    if (!root) return NOTHING_KNOWN;
    const [profile, audiences, signals, consent, accounts] = await Promise.all([
      this.contexts.profileTraits(root),
      this.contexts.audiences(root),
      this.contexts.signals(root),
      this.consent.view(
        root,
        () => this.contexts.events(root),
        () => this.contexts.insights(root),
      ),
      // Read only when a rule names `account`: the Profile API budget is shared.
      this.router.readsAccount() ? this.contexts.accounts(root) : Promise.resolve([]),
    ]);
    return {
      traits: profile.traits,
      traitOrigins: profile.origins,
      account: accounts[0] ?? null,
      audiences,
      signals,
      failures: root.failures(),
      customer: root,
      consent,
    };
  }
}

async function settledBy<T>(work: Promise<T>, deadlineAt: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  // Work that has already settled wins even at a deadline of 0: its callbacks run before any timer.
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadlineAt - Date.now()));
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
