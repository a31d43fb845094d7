import { createHmac } from 'node:crypto';
import { chromium, type Frame } from 'playwright-core';
import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { CHROMIUM, CHROMIUM_ARGS, PANEL_WIDTH, startFlexStandIn } from '../../test/support/panel-browser';
import { percentile } from '../support/load';
import type { BenchService } from '../support/service';

/**
 * How fresh an open panel is: a signed Segment track posted to instance B, the panel open on
 * instance A (both on one Redis, as behind a load balancer), framed by the Flex stand-in in
 * Debian's Chromium. Timed from just before the webhook is sent to the moment the event's name is
 * in the panel's DOM (a MutationObserver in the panel's frame notes it). The browser's clock is
 * set against this process's by the quickest of a few round trips, so its uncertainty (half
 * that trip) is reported beside the times. One event at a time, each once the panel has
 * reconciled the previous one (no pushed value left unconfirmed), after a few to warm up.
 */
export interface FreshnessResult {
  events: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** How far off the browser's clock may be read, in ms. */
  clockUncertaintyMs: number;
}

const SECRET = 'bench-freshness-secret';
const WARM_UP_EVENTS = 5;
const CLOCK_ROUND_TRIPS = 30;
/** Both instances read and write the same keys and hear the same change channel. */
const KEY_PREFIX = 'bench-fresh:';

type Start = (name: string, env: Record<string, string>) => Promise<BenchService>;

const nowMs = () => performance.timeOrigin + performance.now();

/** Browser clock minus ours, from the quickest round trip: at most half that trip wrong. */
async function clockOffset(frame: Frame): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  let best = { offsetMs: 0, uncertaintyMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < CLOCK_ROUND_TRIPS; i++) {
    const sent = nowMs();
    const browser = await frame.evaluate<number>('performance.timeOrigin + performance.now()');
    const back = nowMs();
    if ((back - sent) / 2 < best.uncertaintyMs) best = { offsetMs: browser - (sent + back) / 2, uncertaintyMs: (back - sent) / 2 };
  }
  return best;
}

/** Notes in `window.freshness.seen[name]` (browser clock) when `name` first reaches the timeline. */
const OBSERVER = `(() => {
  window.freshness = { awaited: null, seen: {} };
  new MutationObserver(() => {
    const name = window.freshness.awaited;
    if (name === null || name in window.freshness.seen) return;
    if (document.querySelector('.timeline')?.textContent.includes(name)) window.freshness.seen[name] = performance.timeOrigin + performance.now();
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
})()`;

export async function freshness(start: Start, customer: SandboxCustomer, token: string, events: number): Promise<FreshnessResult> {
  if (!customer.userId || !customer.phone) throw new Error(`customer ${customer.index} has no userId or phone`);
  let panelBase = '';
  const flex = await startFlexStandIn(() => panelBase);
  const a = await start('bench-fresh-a', { REDIS_KEY_PREFIX: KEY_PREFIX, CORS_ORIGINS: flex.origin });
  const b = await start('bench-fresh-b', { REDIS_KEY_PREFIX: KEY_PREFIX, SEGMENT_WEBHOOK_SECRET: SECRET });
  panelBase = `${a.url}/panel`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await (await browser.newContext({ viewport: { width: PANEL_WIDTH, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${flex.origin}/flex?phone=${encodeURIComponent(customer.phone)}#token=${token}`);
    const panel = page.frameLocator('#panel');
    await panel.locator('[data-state=ready] .live-live').waitFor();
    const frame = page.frames().find((f) => f !== page.mainFrame());
    if (!frame) throw new Error('the Flex stand-in shows no panel frame');
    await frame.evaluate(OBSERVER);
    const confirmed = panel.locator('[data-state=ready]:not([data-unconfirmed])');

    const send = async (name: string, messageId: string): Promise<number> => {
      await frame.evaluate(`window.freshness.awaited = ${JSON.stringify(name)}`);
      const body = JSON.stringify({ type: 'track', event: name, userId: customer.userId, messageId, timestamp: new Date().toISOString() });
      const headers = { 'content-type': 'application/json', 'x-signature': createHmac('sha1', SECRET).update(body).digest('hex') };
      const sentAt = nowMs();
      const response = await fetch(`${b.url}/webhooks/segment`, { method: 'POST', headers, body });
      const outcome = (await response.json()) as { outcomes?: { applied?: number } };
      if (!response.ok || outcome.outcomes?.applied !== 1)
        throw new Error(`instance B did not apply the webhook: ${response.status} ${JSON.stringify(outcome)}`);
      return sentAt;
    };
    // Polled from here (the panel's CSP allows no eval, which waitForFunction needs); the time is the browser's own note.
    const seenAt = async (name: string): Promise<number> => {
      const key = JSON.stringify(name);
      for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
        const at = await frame.evaluate<number | undefined>(`window.freshness.seen[${key}]`);
        if (at !== undefined) return at;
      }
      throw new Error(`${name} did not reach the panel within 5 s`);
    };

    // The subscription is registered on A once a push gets through: until then, send again.
    const run = Date.now().toString(36);
    for (let attempt = 1; ; attempt++) {
      const name = `Freshness Check ${attempt}`;
      await send(name, `fresh-${run}-check-${attempt}`);
      const through = await seenAt(name).then(
        () => true,
        async () => {
          if (attempt < 5) return false;
          const shown = await frame.evaluate<string[]>(
            `[document.querySelector('.live')?.textContent, document.querySelector('.timeline')?.textContent?.slice(0, 160)]`,
          );
          throw new Error(`no push reached the panel (it shows "${shown[0]}", its timeline begins "${shown[1]}")`);
        },
      );
      if (through) break;
    }
    await confirmed.waitFor();

    const { offsetMs, uncertaintyMs } = await clockOffset(frame);
    const latencies: number[] = [];
    for (let i = 0; i < WARM_UP_EVENTS + events; i++) {
      const name = `Freshness Probe ${String(i).padStart(3, '0')}`;
      const sentAt = await send(name, `fresh-${run}-${i}`);
      const at = (await seenAt(name)) - offsetMs;
      if (i >= WARM_UP_EVENTS) latencies.push(at - sentAt);
      // Each event on its own: the previous one's reconciling query done.
      await confirmed.waitFor();
    }
    latencies.sort((x, y) => x - y);
    return {
      events: latencies.length,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      maxMs: latencies[latencies.length - 1],
      clockUncertaintyMs: uncertaintyMs,
    };
  } finally {
    await browser.close();
    await Promise.all([a.stop(), b.stop()]);
    await flex.close();
  }
}
