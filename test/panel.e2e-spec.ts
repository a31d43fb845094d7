import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, PANEL_WIDTH, startFlexStandIn, USEFUL_MARK, type FlexStandIn } from './support/panel-browser';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { eventually } from './support/twilio-callers';

/**
 * The agent panel in a real browser (Chromium through playwright-core): what it shows, its states,
 * live updates, and both ways the Flex token reaches it. Screenshots land in test/artifacts/.
 */

const ROOT = join(__dirname, '..');
const ARTIFACTS = join(__dirname, 'artifacts');
const SECRET = 'panel-segment-secret';
const EXAMPLE_POLICY = join(ROOT, 'config', 'access-policy.example.yaml');

/** Builds the panel when its bundle is missing or older than its sources, so the test never runs a stale one. */
function ensurePanelBuilt(): void {
  const built = join(ROOT, 'panel/dist/index.html');
  const newest = (path: string): number =>
    statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs;
  const sources = ['panel/src', 'panel/index.html', 'panel/vite.config.mts'].map((path) => newest(join(ROOT, path)));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources)) return;
  // Jest sets NODE_ENV=test, which would build Preact's debug bundle: build what production serves.
  const env = { ...process.env, NODE_ENV: 'production' };
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'panel', '--logLevel', 'warn'], { cwd: ROOT, env, stdio: 'inherit' });
}

/**
 * `work`, or an error naming the step once `ms` have passed: a step that hangs (browser, service
 * start or stop have no timeout of their own) names itself instead of using up the test's time.
 */
async function within<T>(step: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('agent panel (browser e2e)', () => {
  let h: Harness;
  let browser: BrowserContext;
  let profileDir: string;
  let panelBase = '';
  let flexOrigin: string;
  let siblingOrigin: string;
  const pageErrors: string[] = [];
  let standIns: FlexStandIn[] = [];

  beforeAll(async () => {
    ensurePanelBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    // Flex, and a third origin for the sibling frame.
    standIns = await Promise.all([0, 1].map(() => startFlexStandIn(() => panelBase, () => siblingOrigin)));
    [flexOrigin, siblingOrigin] = standIns.map((standIn) => standIn.origin);
    h = await startHarness({
      sandbox: { customers: 20 },
      env: { SEGMENT_WEBHOOK_SECRET: SECRET, CORS_ORIGINS: `https://flex.twilio.com,${flexOrigin}` },
    });
    panelBase = `${h.url}/panel`;
    profileDir = mkdtempSync(join(tmpdir(), 'panel-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: PANEL_WIDTH, height: 900 },
      args: CHROMIUM_ARGS,
    });
    browser.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await Promise.all(standIns.map((standIn) => standIn.close()));
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  beforeEach(() => h.sandbox.faults.clear());
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  /** `token`: the sandbox agent's unless false (none) or another token. */
  const open = (query: string, options: { token?: boolean | string; dark?: boolean; base?: string } = {}): Promise<Page> =>
    within(`opening the panel for ${query}`, 20_000, (async () => {
      const page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.emulateMedia({ colorScheme: options.dark ? 'dark' : 'light' });
      const token = typeof options.token === 'string' ? options.token : h.sandbox.credentials.agentToken;
      await page.goto(`${options.base ?? panelBase}?${query}${options.token === false ? '' : `#token=${token}`}`);
      return page;
    })());
  const closePage = (page: Page) => within('closing a page', 10_000, page.close());
  const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `panel-${name}.png`), fullPage });
  const phone = (customer: { phone: string | null }) => `phone=${encodeURIComponent(customer.phone!)}`;

  it('serves the page and bundle without a token: settings in a meta tag, gzip, hashed assets cached for good', async () => {
    const page = await fetch(`${panelBase}?phone=%2B12015550100`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' https://flex.twilio.com ${flexOrigin}`);
    const html = await page.text();
    const settings = /<meta name="customer-context-panel" content="([^"]+)"/.exec(html)![1].replace(/&quot;/g, '"');
    expect(JSON.parse(settings)).toEqual({ parentOrigins: ['https://flex.twilio.com', flexOrigin], fragmentToken: true });
    const script = /src="(\/panel\/assets\/[^"]+\.js)"/.exec(html)![1];
    const bundle = await fetch(`${h.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(bundle.headers.get('content-encoding')).toBe('gzip');
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${panelBase}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it('shows a demo customer: name, audiences, signals, timeline, messages and routing, in light and dark', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const page = await open(phone(vip));
    const ready = page.locator('[data-state=ready]');
    await ready.waitFor();
    await expect(page.locator('h1').textContent()).resolves.toBe(vip.name);
    await expect(page.getByRole('list', { name: 'Audiences' }).getByRole('listitem').allTextContents()).resolves.toEqual(['vip', 'high value']);
    await expect(page.getByRole('region', { name: 'Signals' }).textContent()).resolves.toContain('Repeat contact');
    const timeline = page.getByRole('region', { name: 'Journey' }).getByRole('listitem');
    await expect(timeline.first().textContent()).resolves.toMatch(/ago|just now/);
    expect(await timeline.count()).toBe(8);
    const newest = vip.conversations.reduce((a, b) => (a.dateUpdated > b.dateUpdated ? a : b));
    await expect(page.getByRole('region', { name: 'Recent conversations' }).textContent()).resolves.toContain(newest.messages.at(-1)!.body);
    // Who wrote each message of the open (newest) thread: the customer, or the agent by name.
    const authors = await page.locator('details.thread[open] .message-meta').allTextContents();
    const expectedAuthors = newest.messages.slice(-4).map((m) => (m.author === newest.address ? 'Customer' : m.author.split('@')[0]));
    expect(expectedAuthors).toContain('Customer');
    expect(authors.map((text) => text.split(' · ')[0])).toEqual(expectedAuthors);
    await expect(page.getByRole('region', { name: 'Routing' }).textContent()).resolves.toContain('vip');
    // The token fragment is gone from the address bar once read.
    expect(page.url()).not.toContain('#token');
    // Keyboard: the first stop is the timeline's "Show all", and Enter opens it.
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement.textContent')).resolves.toMatch(/^Show all \d+$/);
    await page.keyboard.press('Enter');
    expect(await timeline.count()).toBeGreaterThan(8);
    await page.keyboard.press('Enter');
    await shot(page, 'customer-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'customer-dark');
    await closePage(page);
  });

  it('marks when something useful is on screen, from a warm cache too (what `npm run bench` times)', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const page = await open(phone(vip));
    await page.locator('[data-state=ready]').waitFor();
    // A new document (the fragment alone would not reload), with the bundle and the data cached.
    await page.goto('about:blank');
    await page.goto(`${panelBase}?${phone(vip)}#token=${h.sandbox.credentials.agentToken}`);
    await page.locator('[data-state=ready]').waitFor();
    const marks = await page.evaluate<number[]>(`performance.getEntriesByName(${JSON.stringify(USEFUL_MARK)}).map((entry) => entry.startTime)`);
    expect(marks).toHaveLength(1);
    expect(marks[0]).toBeGreaterThan(0);
    await closePage(page);
  });

  it('shows the empty state for a customer nobody knows', async () => {
    const page = await open(`phone=${encodeURIComponent(h.sandbox.data.unknownPhone())}`);
    await expect(page.locator('[data-state=empty] h1').textContent()).resolves.toBe('No customer found');
    await shot(page, 'empty');
    await closePage(page);
  });

  it('shows a partial answer and names the source that failed', async () => {
    h.sandbox.faults.add({ service: 'segment', route: 'events', status: 500 });
    const customer = h.sandbox.data.byArchetype('long_history');
    const page = await open(phone(customer));
    const partial = page.locator('[data-state=partial]');
    await expect(partial.textContent()).resolves.toContain('Segment events');
    await expect(page.locator('h1').textContent()).resolves.toBe(customer.name);
    await shot(page, 'partial');
    await closePage(page);
  });

  it('says which parts are an old copy: refreshing, or kept because the refresh fails', async () => {
    // Short TTLs on a second instance: a copy goes stale within the test.
    const short = await within('starting a second instance', 20_000, startHarness({ sandbox: h.sandbox, env: { CACHE_TTL_EVENTS_MS: '300', CACHE_TTL_TRAITS_MS: '300', UPSTREAM_TIMEOUT_MS: '3000' } }));
    try {
      const customer = h.sandbox.data.byArchetype('long_history');
      const base = `${short.url}/panel`;
      const first = await open(phone(customer), { base });
      await expect(first.locator('h1').textContent()).resolves.toBe(customer.name);
      await closePage(first);
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Past their TTL, with Segment slow: the old copies are shown while the refresh is on its way.
      h.sandbox.faults.add({ service: 'segment', latencyMs: 1_500 });
      const stale = await open(phone(customer), { base });
      await expect(stale.locator('[data-state=stale]').textContent()).resolves.toMatch(/Segment events.*a refresh is on its way/);
      await expect(stale.locator('[data-state=partial]').count()).resolves.toBe(0);
      await expect(stale.locator('h1').textContent()).resolves.toBe(customer.name);
      await shot(stale, 'stale');
      await closePage(stale);
      // Segment's events now failing. Asked as the panel asks until a refresh has failed (the
      // first answer past the TTL starts it), then the panel must say the refresh is failing,
      // not that the events are missing.
      h.sandbox.faults.clear();
      h.sandbox.faults.add({ service: 'segment', route: 'events', status: 500 });
      const eventsSource = async () => {
        const answer = await short.gql<{ customerContext: { freshness: { sources: Array<{ source: string; stale: boolean; error: string | null }> } } | null }>(
          'query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { traits journey(first: 1) { at } freshness { sources { source stale error } } } }',
          { lookup: { phone: customer.phone } },
        );
        return answer.data?.customerContext?.freshness.sources.find((source) => source.source === 'segment.events') ?? null;
      };
      const failed = await eventually(eventsSource, (source) => Boolean(source?.error), 20_000);
      expect(failed).toEqual({ source: 'segment.events', stale: true, error: expect.stringMatching(/^UPSTREAM_/) });
      const failing = await open(phone(customer), { base });
      await expect(failing.locator('[data-state=stale]').textContent()).resolves.toMatch(/Segment events \(refresh failing: UPSTREAM_\w+\)/);
      await expect(failing.locator('[data-state=partial]').count()).resolves.toBe(0);
      await expect(failing.locator('h1').textContent()).resolves.toBe(customer.name);
      await closePage(failing);
    } finally {
      await within('stopping the second instance', 20_000, short.close());
    }
  }, 90_000);

  it("says when the access policy keeps a message's text from the agent's role", async () => {
    const guarded = await within('starting an instance with the example access policy', 20_000, startHarness({ sandbox: h.sandbox, env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY } }));
    try {
      const vip = h.sandbox.data.byArchetype('vip');
      // A role the policy does not name sees who wrote and when, not what.
      const token = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles: ['wfo.data_analyst'] });
      const page = await open(phone(vip), { base: `${guarded.url}/panel`, token });
      const bodies = page.getByRole('region', { name: 'Recent conversations' }).locator('.message-body');
      await bodies.first().waitFor({ state: 'attached' });
      const shown = await bodies.allTextContents();
      expect(shown.length).toBeGreaterThan(0);
      expect(new Set(shown)).toEqual(new Set(['(text not shown to your role)']));
      await closePage(page);
    } finally {
      await within('stopping the second instance', 20_000, guarded.close());
    }
  });

  it('puts a Segment event posted while the panel is open on the timeline, highlighted, without a reload', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const page = await open(phone(vip));
    await page.locator('.live-live').waitFor();
    // The subscription is registered once the server has read the subscribe message.
    await page.waitForTimeout(200);
    await page.evaluate('window.notReloaded = true');
    const response = await postSegment(h, { type: 'track', event: 'Return Requested', userId: vip.userId, messageId: 'panel-live-1', timestamp: new Date().toISOString() });
    expect(response.status).toBe(200);
    const entry = page.locator('.timeline [data-fresh]', { hasText: 'Return Requested' });
    await entry.waitFor({ timeout: 5_000 });
    await expect(page.locator('.timeline li').first().textContent()).resolves.toContain('Return Requested');
    await expect(page.getByRole('status').textContent()).resolves.toContain('Return Requested');
    await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
    // The first screen, as an agent sees it: this one is docs/panel.png.
    await shot(page, 'live-update', false);
    await closePage(page);
  });

  it('asks the agent to sign in when no token comes', async () => {
    const page = await open(phone(h.sandbox.data.byArchetype('vip')), { token: false });
    await expect(page.locator('[data-state=signin] h1').textContent()).resolves.toBe('Sign-in needed');
    await shot(page, 'sign-in');
    await closePage(page);
  });

  it('takes the token from the framing Flex page by postMessage, and from no other frame', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const panel: FrameLocator = page.frameLocator('#panel');

    // A parent without a token, and a sibling frame on a foreign origin posting a valid one.
    await page.goto(`${flexOrigin}/flex?${phone(vip)}`);
    // The panel listens once it has asked for a token.
    await page.waitForFunction('window.panelAsked === true');
    await shot(page, 'loading');
    const sibling = page.frames().find((frame) => frame.url().startsWith(siblingOrigin))!;
    await sibling.evaluate(`parent.frames[0].postMessage({ type: 'customer-context:token', token: ${JSON.stringify(h.sandbox.credentials.agentToken)} }, '*')`);
    await expect(panel.locator('[data-state=signin] h1').textContent()).resolves.toBe('Sign-in needed');

    await page.goto('about:blank');
    await page.goto(`${flexOrigin}/flex?${phone(vip)}#token=${h.sandbox.credentials.agentToken}`);
    await expect(panel.locator('[data-state=ready] h1').textContent()).resolves.toBe(vip.name);
    await shot(page, 'embedded');
    await closePage(page);
  });
});
