import type { Harness } from './harness';

/** The sum of a metric's samples (Prometheus text) whose labels include `labels`. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(match[3]);
  }
  return total;
}

/** The service's `/metrics` as Prometheus reads it. */
export async function scrape(h: Pick<Harness, 'url'>): Promise<string> {
  return (await fetch(`${h.url}/metrics`)).text();
}

/** How many webhook events of `source` the service counted, by outcome (`cc_webhook_events_total`). */
export async function webhookOutcomes(h: Pick<Harness, 'url'>, source: string): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  for (const [, labels, value] of (await scrape(h)).matchAll(/^cc_webhook_events_total\{(.*)\} (\S+)$/gm)) {
    if (!labels.includes(`source="${source}"`)) continue;
    const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? '';
    outcomes[outcome] = Number(value);
  }
  return outcomes;
}
