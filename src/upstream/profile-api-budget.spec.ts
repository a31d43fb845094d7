import type { RedisConnection } from '../cache/redis-connection';
import { ErrorCode, UpstreamError } from '../common/errors';
import { loadConfig } from '../config/config';
import { ProfileApiBudget } from './profile-api-budget';

const embedded = { enabled: false } as RedisConnection;
const budgetOf = (env: Record<string, string>) => new ProfileApiBudget(loadConfig(env), embedded);

describe(ProfileApiBudget.name, () => {
  it('plans for 80 % of SEGMENT_MAX_RPS, as a small burst plus a steady rate', () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '100' });
    expect(budget.burst + budget.rate).toBe(80);
    expect(budget.burst).toBe(4);
  });

  it('lets the burst through at once, then makes foreground callers wait, then gives up', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '10', SEGMENT_BUDGET_WAIT_MS: '0' });
    await budget.acquire('foreground'); // burst of 1
    const error = await budget.acquire('foreground').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe(ErrorCode.BUDGET_EXHAUSTED);
    expect(budget.stats().exhausted).toBe(1);
  });

  it('keeps a reserve that background refreshes may not take', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '0', SEGMENT_BUDGET_BACKGROUND_WAIT_MS: '0' });
    await budget.acquire('background');
    await budget.acquire('background');
    await expect(budget.acquire('background')).rejects.toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
    await budget.acquire('foreground');
  });

  it('pauses every caller after a 429', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '1000', SEGMENT_BUDGET_WAIT_MS: '0' });
    await budget.pause(1_000);
    await expect(budget.acquire('foreground')).rejects.toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
  });
});
