import { chromium } from 'playwright-core';
import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { CHROMIUM, CHROMIUM_ARGS, PANEL_WIDTH, USEFUL_MARK, type FlexStandIn } from '../../test/support/panel-browser';
import { percentile } from '../support/load';

/**
 * The agent panel's first useful paint with a warm cache, as an agent sees it: framed by a page
 * on another origin that hands it the Flex token by postMessage (the Flex stand-in of the browser
 * tests), in Debian's Chromium (`CHROMIUM_PATH`) at the CRM container's width. Each customer is
 * loaded once to warm the service's cache and the browser's, then loaded again in a new document
 * and timed: from the panel document's navigation start to the mark the panel sets once the
 * customer can be read (panel/src/App.tsx), token handshake included.
 */
export interface PanelResult {
  loads: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export async function panelPaint(flex: FlexStandIn, customers: SandboxCustomer[], token: string): Promise<PanelResult> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: PANEL_WIDTH, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    const panel = page.frameLocator('#panel');
    const paint = async (customer: SandboxCustomer): Promise<number> => {
      // about:blank first: a new document each time (a fragment change alone would not reload).
      await page.goto('about:blank');
      await page.goto(`${flex.origin}/flex?phone=${encodeURIComponent(customer.phone!)}#token=${token}`);
      // Settled: the customer, or a state that says why not (which fails the measurement).
      const settled = panel.locator('[data-state=ready], .state[data-state]:not([data-state=loading])').first();
      // The stand-in's load waited for its frames: the panel's is there (loaded, or an error page).
      const frame = page.frames().find((f) => f !== page.mainFrame());
      await settled.waitFor().catch(async (error: Error) => {
        const shown = await frame?.evaluate('document.body.innerText').catch(() => 'unreadable');
        throw new Error(
          `the panel for customer ${customer.index} did not settle (${frame ? `frame at ${frame.url().split('?')[0]} shows ${JSON.stringify(String(shown).slice(0, 200))}` : 'no frame'}): ${error.message.split('\n')[0]}`,
        );
      });
      const state = await settled.getAttribute('data-state');
      if (state !== 'ready') throw new Error(`the panel showed "${state}" for customer ${customer.index}: ${(await settled.textContent())?.slice(0, 200)}`);
      const at = await frame?.evaluate<number | undefined>(`performance.getEntriesByName(${JSON.stringify(USEFUL_MARK)})[0]?.startTime`);
      if (typeof at !== 'number') throw new Error(`the panel set no ${USEFUL_MARK} mark for customer ${customer.index}`);
      return at;
    };
    for (const customer of customers) await paint(customer);
    const times: number[] = [];
    for (const customer of customers) times.push(await paint(customer));
    times.sort((a, b) => a - b);
    return { loads: times.length, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), maxMs: times[times.length - 1] };
  } finally {
    await browser.close();
  }
}
