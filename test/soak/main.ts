import { formatReport, runSoak } from './soak';

/** `npm run soak`: SOAK_SECONDS (180), SOAK_INSTANCES (2), SOAK_COLD_PER_SECOND (40). Exits 1 when an invariant breaks. */
void (async () => {
  const report = await runSoak({
    seconds: Number(process.env.SOAK_SECONDS ?? 180),
    instances: Number(process.env.SOAK_INSTANCES ?? 2),
    queryConcurrency: Number(process.env.SOAK_QUERY_CONCURRENCY ?? 12),
    tasksPerSecond: Number(process.env.SOAK_TASKS_PER_SECOND ?? 2),
    webhooksPerSecond: Number(process.env.SOAK_WEBHOOKS_PER_SECOND ?? 4),
    conversationsPerSecond: Number(process.env.SOAK_CONVERSATIONS_PER_SECOND ?? 1),
    coldPerSecond: Number(process.env.SOAK_COLD_PER_SECOND ?? 40),
    maxRps: Number(process.env.SOAK_MAX_RPS ?? 50),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exit(report.ok ? 0 : 1);
})().catch((error: unknown) => {
  process.stderr.write(`soak failed to run: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(2);
});
