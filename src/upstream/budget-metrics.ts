import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { ProfileApiBudget } from './profile-api-budget';

/** The Profile API budget's own counts (ProfileApiBudget.stats()), read at scrape time. */
@Injectable()
export class BudgetMetrics {
  constructor(registry: Registry, budget: ProfileApiBudget) {
    const fromStats = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    fromStats('cc_profile_api_budget_waits_total', 'Times a Profile API call had to wait for the shared budget (SEGMENT_MAX_RPS)', () => budget.stats().waits);
    fromStats(
      'cc_profile_api_budget_exhausted_total',
      'Profile API calls given up (BUDGET_EXHAUSTED): no budget within SEGMENT_BUDGET_WAIT_MS',
      () => budget.stats().exhausted,
    );
  }
}
