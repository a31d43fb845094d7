/**
 * The enrichment queue's Redis keys, in one screen. They share the hash tag `{enrichment}`, so
 * the enqueue script (dedupe key + stream) and the MULTIs (ack + dead letter) stay on one Redis
 * Cluster slot. The cache's keys are in src/cache/cache-keys.ts.
 */
export function queueKeys(prefix: string) {
  const tag = `${prefix}{enrichment}`;
  return {
    /** Stream of jobs, read by the consumer group below. */
    jobs: `${tag}:jobs`,
    /** Stream of jobs that used up their attempts. */
    dead: `${tag}:dead`,
    /** Set once per dedupe key (e.g. `task:WT…`) for ENRICHMENT_DEDUPE_TTL_MS. */
    seen: (dedupeKey: string) => `${tag}:seen:${dedupeKey}`,
  };
}

export const CONSUMER_GROUP = 'enrichers';
