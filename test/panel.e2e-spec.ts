import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, type FrameLocator, type Page, type WebSocketRoute } from 'playwright-core';
import { launchChromium, startFlexStandIn, USEFUL_MARK, type FlexStandIn } from './support/panel-browser';
import { intelligenceDemo } from '../src/sandbox/intelligence.server';
import { interactionsDemo } from '../src/sandbox/interactions.server';
import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { dateClock } from './support/date-clock';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { eventually, postForm, postJson } from './support/twilio-callers';

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
  let chromiumSession: { close(): Promise<void> } | undefined;
  let panelBase = '';
  let flexOrigin: string;
  let siblingOrigin: string;
  const pageErrors: string[] = [];
  let standIns: FlexStandIn[] = [];

  beforeAll(async () => {
    ensurePanelBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    // Flex, and a third origin for the sibling frame.
    standIns = await Promise.all(
      [0, 1].map(() =>
        startFlexStandIn(
          () => panelBase,
          () => siblingOrigin,
        ),
      ),
    );
    [flexOrigin, siblingOrigin] = standIns.map((standIn) => standIn.origin);
    h = await startHarness({
      sandbox: { customers: 20 },
      env: { SEGMENT_WEBHOOK_SECRET: SECRET, CORS_ORIGINS: `https://flex.twilio.com,${flexOrigin}` },
    });
    panelBase = `${h.url}/panel`;
    const session = await launchChromium('panel', 900);
    chromiumSession = session;
    browser = session.context;
  }, 60_000);

  afterAll(async () => {
    await chromiumSession?.close();
    await h?.close();
    await Promise.all(standIns.map((standIn) => standIn.close()));
  });

  beforeEach(() => h.sandbox.faults.clear());
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  /** `token`: the sandbox agent's unless false (none) or another token. */
  const open = (query: string, options: { token?: boolean | string; dark?: boolean; base?: string } = {}): Promise<Page> =>
    within(
      `opening the panel for ${query}`,
      20_000,
      (async () => {
        const page = await browser.newPage();
        page.on('pageerror', (error) => pageErrors.push(error.message));
        await page.emulateMedia({ colorScheme: options.dark ? 'dark' : 'light' });
        const token = typeof options.token === 'string' ? options.token : h.sandbox.credentials.agentToken;
        await page.goto(`${options.base ?? panelBase}?${query}${options.token === false ? '' : `#token=${token}`}`);
        return page;
      })(),
    );
  const closePage = (page: Page) => within('closing a page', 10_000, page.close());
  const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `panel-${name}.png`), fullPage });
  const phone = (customer: { phone: string | null }) => `phone=${encodeURIComponent(customer.phone!)}`;
  /** Customers no other test posts webhooks for: reachable by phone and userId, with conversations. */
  const regular = (n: number) =>
    h.sandbox.data.customers.filter((c) => c.archetype === 'regular' && c.userId && c.phone && c.profileId && c.conversations.length > 0)[n];
  const newestConversation = (customer: SandboxCustomer) => customer.conversations.reduce((a, b) => (a.dateUpdated > b.dateUpdated ? a : b));
  const isQuery = (url: URL) => url.pathname === '/graphql';

  /**
   * Posts marker events until the panel shows one (its subscription is registered on the service
   * by then), and waits for the query that reconciles it: afterwards nothing is in flight.
   */
  const untilLive = async (page: Page, customer: SandboxCustomer, view: Page | FrameLocator = page, marker = 'live-marker', via: Harness = h) => {
    await view.locator('.live-live').waitFor();
    for (let attempt = 1; ; attempt++) {
      // Markers of another test on the same customer are on its timeline already: `marker` tells them apart.
      const name = marker === 'live-marker' ? `Panel Opened ${attempt}` : `Panel Opened (${marker}) ${attempt}`;
      const reconciled = page.waitForResponse((response) => isQuery(new URL(response.url())), { timeout: 5_000 });
      const sent = await postSegment(via, {
        type: 'track',
        event: name,
        userId: customer.userId,
        messageId: `${marker}-${customer.index}-${attempt}`,
        timestamp: new Date().toISOString(),
      });
      if (!sent.ok) throw new Error(`the marker event was refused: ${sent.status}`);
      const shown = await view
        .locator('.timeline li', { hasText: name })
        .waitFor({ timeout: 2_000 })
        .then(
          () => true,
          () => attempt >= 8 && Promise.reject(new Error('no push reached the panel')),
        );
      if (shown) return void (await reconciled);
      reconciled.catch(() => undefined);
    }
  };

  /**
   * Holds every GraphQL query the page makes at a barrier until `release()`, so what the panel
   * shows meanwhile is what it did without an answer. `log` records each query asked and
   * answered, in order; `answers` holds the answers' bodies.
   */
  const holdQueries = async (page: Page) => {
    const log: Array<'asked' | 'answered'> = [];
    const answers: unknown[] = [];
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const firstAsked = new Promise<void>((resolve) => (asked = resolve));
    await page.route(isQuery, async (route) => {
      log.push('asked');
      asked();
      await barrier;
      const response = await route.fetch();
      answers.push(await response.json());
      await route.fulfill({ response });
      log.push('answered');
    });
    return { log, answers, release, firstAsked };
  };

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
    const short = await within(
      'starting a second instance',
      20_000,
      startHarness({ sandbox: h.sandbox, env: { CACHE_TTL_EVENTS_MS: '300', CACHE_TTL_TRAITS_MS: '300', UPSTREAM_TIMEOUT_MS: '3000' } }),
    );
    try {
      const customer = h.sandbox.data.byArchetype('long_history');
      const base = `${short.url}/panel`;
      // The service reads its TTLs off Date, which stands still here but for the jump past them.
      dateClock.take({ frozen: true });
      const first = await open(phone(customer), { base });
      await expect(first.locator('h1').textContent()).resolves.toBe(customer.name);
      await closePage(first);
      dateClock.advance(400);
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
      dateClock.release();
      await within('stopping the second instance', 20_000, short.close());
    }
  }, 90_000);

  it("says when the access policy keeps a message's text from the agent's role", async () => {
    const guarded = await within(
      'starting an instance with the example access policy',
      20_000,
      startHarness({ sandbox: h.sandbox, env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY } }),
    );
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
    // A marker event seen pushed: the subscription is registered.
    await untilLive(page, vip, page, 'timeline-marker');
    await page.evaluate('window.notReloaded = true');
    const response = await postSegment(h, {
      type: 'track',
      event: 'Return Requested',
      userId: vip.userId,
      messageId: 'panel-live-1',
      timestamp: new Date().toISOString(),
    });
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

  it('shows a pushed event before any re-query is answered, then the re-query shows the same', async () => {
    const customer = regular(0);
    const page = await open(phone(customer));
    await untilLive(page, customer);
    const queries = await holdQueries(page);
    await postSegment(h, {
      type: 'track',
      event: 'Warranty Claimed',
      userId: customer.userId,
      messageId: 'panel-patch-1',
      timestamp: new Date().toISOString(),
    });
    const entry = page.locator('.timeline li[data-fresh]', { hasText: 'Warranty Claimed' });
    await entry.waitFor();
    // On screen from the push alone: the panel has asked for the context again, or will, but no answer came.
    expect(queries.log).not.toContain('answered');
    await expect(page.locator('[data-state=ready][data-unconfirmed]').count()).resolves.toBe(1);
    await expect(page.locator('.timeline li').first().textContent()).resolves.toContain('Warranty Claimed');
    await expect(page.getByRole('status').textContent()).resolves.toContain('Warranty Claimed');
    const patched = await page.locator('.timeline').innerText();
    // What the push cannot say (derived signals) waits for the answer.
    const lastSeen = page.locator('.tile', { hasText: 'Last seen' });
    await expect(lastSeen.getAttribute('data-fresh')).resolves.toBeNull();

    queries.release();
    await page.locator('[data-state=ready]:not([data-unconfirmed])').waitFor();
    expect(queries.log).toContain('answered');
    await expect(lastSeen.getAttribute('data-fresh')).resolves.toBe('');
    type Answer = { data: { customerContext: { journey: Array<{ title: string; event: { id: string } | null }> } } };
    const last = queries.answers.at(-1) as Answer;
    expect(last.data.customerContext.journey[0]).toMatchObject({ title: 'Warranty Claimed', event: { id: 'panel-patch-1' } });
    // The answer replaced the patched copy with the same timeline, still highlighted.
    await expect(page.locator('.timeline').innerText()).resolves.toBe(patched);
    await expect(page.locator('.timeline li', { hasText: 'Warranty Claimed' }).count()).resolves.toBe(1);
    await expect(entry.count()).resolves.toBe(1);
    await closePage(page);
  });

  it('shows a pushed message in its open thread and changed traits before any re-query is answered', async () => {
    const customer = regular(1);
    const conversation = newestConversation(customer);
    const page = await open(phone(customer));
    await untilLive(page, customer);
    const queries = await holdQueries(page);
    const body = 'Is my order on its way?';
    const message = h.sandbox.data.addMessage(conversation.sid, { author: conversation.address, body });
    await postSegment(h, { type: 'identify', userId: customer.userId, messageId: 'panel-patch-2', traits: { loyalty_tier: 'Obsidian' } });
    const posted = await postForm(h, '/webhooks/conversations', {
      EventType: 'onMessageAdded',
      ConversationSid: conversation.sid,
      MessageSid: message.sid,
      Body: body,
      Author: conversation.address,
      DateCreated: new Date().toISOString(),
      AccountSid: h.sandbox.credentials.accountSid,
    });
    expect(posted.status).toBe(200);
    const shownMessage = page.locator('details.thread[open] .messages li[data-fresh]', { hasText: body });
    await shownMessage.waitFor();
    const tier = page.locator('dl.facts div', { hasText: 'Loyalty tier' }).locator('dd');
    await tier.getByText('Obsidian').waitFor();
    expect(queries.log).not.toContain('answered');
    await expect(page.locator('[data-state=ready][data-unconfirmed]').count()).resolves.toBe(1);
    await expect(shownMessage.locator('.message-meta').textContent()).resolves.toMatch(/^Customer · /);

    queries.release();
    await page.locator('[data-state=ready]:not([data-unconfirmed])').waitFor();
    expect(queries.log).toContain('answered');
    await expect(page.locator('.messages li', { hasText: body }).count()).resolves.toBe(1);
    await expect(shownMessage.count()).resolves.toBe(1);
    await expect(tier.textContent()).resolves.toBe('Obsidian');
    await closePage(page);
  });

  it("marks a trait set long ago, gives every key trait's age on hover, and shows the customer's account", async () => {
    const long = h.sandbox.data.byArchetype('long_history');
    const page = await open(phone(long));
    await page.locator('[data-state=ready]').waitFor();
    const keyTraits = page.locator('dl[aria-label="Key traits"]');
    const plan = keyTraits.locator('div', { hasText: /^Plan/ });
    await expect(plan.getAttribute('data-stale')).resolves.toBe('');
    await expect(plan.locator('.stale-mark').count()).resolves.toBe(1);
    await expect(plan.locator('dd').getAttribute('title')).resolves.toMatch(/^Set (\d+ years|last year) ago \(.+\) by source \w+ — older than/);
    // Computed traits Segment keeps current are not marked.
    const value = keyTraits.locator('div', { hasText: 'Lifetime value' });
    await expect(value.getAttribute('data-stale')).resolves.toBeNull();
    await expect(value.locator('dd').getAttribute('title')).resolves.toMatch(/^Set /);
    const account = page.locator('dl.account');
    await expect(account.locator('div').first().locator('dd').textContent()).resolves.toBe('Contoso Logistics');
    await expect(account.locator('div', { hasText: 'Account tier' }).locator('dd').textContent()).resolves.toBe('mid_market');
    await shot(page, 'stale-account');
    await closePage(page);

    const vip = h.sandbox.data.byArchetype('vip');
    const vipPage = await open(phone(vip));
    await vipPage.locator('[data-state=ready]').waitFor();
    await expect(vipPage.locator('dl.facts [data-stale]').count()).resolves.toBe(0);
    await expect(vipPage.locator('dl.account div', { hasText: 'Account plan' }).locator('dd').textContent()).resolves.toBe('enterprise');
    await expect(vipPage.locator('dl.account div').first().locator('dd').textContent()).resolves.toBe('Northwind Outfitters');
    await closePage(vipPage);
  });

  it('asks again at once for a change it cannot apply itself: a message in a thread not on screen', async () => {
    const customer = h.sandbox.data.byArchetype('long_history');
    const oldest = customer.conversations.reduce((a, b) => (a.dateUpdated < b.dateUpdated ? a : b));
    const page = await open(phone(customer));
    await untilLive(page, customer);
    const queries = await holdQueries(page);
    const body = 'About that old order of mine';
    const message = h.sandbox.data.addMessage(oldest.sid, { author: oldest.address, body });
    const posted = await postForm(h, '/webhooks/conversations', {
      EventType: 'onMessageAdded',
      ConversationSid: oldest.sid,
      MessageSid: message.sid,
      Body: body,
      Author: oldest.address,
      DateCreated: new Date().toISOString(),
      AccountSid: h.sandbox.credentials.accountSid,
    });
    expect(posted.status).toBe(200);
    // The push reached the panel when it asks: it put the message nowhere by itself.
    await queries.firstAsked;
    await expect(page.locator('.messages li', { hasText: body }).count()).resolves.toBe(0);
    queries.release();
    // The answer brings the thread, now the latest, with the message highlighted.
    await page.locator('details.thread[open] .messages li[data-fresh]', { hasText: body }).waitFor();
    await closePage(page);
  });

  it('asks Flex for a new token when the service closes the socket for an expired one, and goes live again with it', async () => {
    const customer = regular(2);
    const renewed = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles: ['agent'] });
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const sockets: WebSocketRoute[] = [];
    const initTokens: string[] = [];
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const server = socket.connectToServer();
      sockets.push(socket);
      socket.onMessage((message) => {
        const parsed = JSON.parse(String(message)) as { type: string; payload?: { token?: string } };
        if (parsed.type === 'connection_init') initTokens.push(parsed.payload?.token ?? '');
        server.send(message);
      });
    });
    const panel = page.frameLocator('#panel');
    await page.goto(`${flexOrigin}/flex?${phone(customer)}#token=${h.sandbox.credentials.agentToken}`);
    await panel.locator('.live-live').waitFor();
    expect(initTokens).toEqual([h.sandbox.credentials.agentToken]);

    // Flex now holds a renewed token; the service closes the socket as the old one expires.
    await page.evaluate(`window.panelAsked = false; location.hash = ${JSON.stringify(`token=${renewed}`)}`);
    await sockets[0].close({ code: 4403, reason: 'token expired' });
    await page.waitForFunction('window.panelAsked === true');
    await panel.locator('.live-live').waitFor();
    expect(initTokens).toEqual([h.sandbox.credentials.agentToken, renewed]);
    // Still the customer, never the sign-in state, and live on the new socket.
    await expect(panel.locator('[data-state=ready] h1').textContent()).resolves.toBe(customer.name);
    await untilLive(page, customer, panel);
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

  it("says what the customer's consent hides, and shows the erased state when the customer is erased while open", async () => {
    const guarded = await within(
      'starting an instance with the example access policy',
      20_000,
      startHarness({ sandbox: h.sandbox, env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY, SEGMENT_WEBHOOK_SECRET: SECRET } }),
    );
    try {
      // The example policy hides the preferred store until the customer consents to Personalization.
      const vip = h.sandbox.data.byArchetype('vip');
      const page = await open(phone(vip), { base: `${guarded.url}/panel` });
      const withheld = page.locator('[data-state=withheld]');
      await withheld.waitFor();
      await expect(withheld.textContent()).resolves.toContain('preferred store: hidden — the customer declined Personalization');
      await expect(page.locator('.customer').textContent()).resolves.not.toContain('Chicago Loop');
      await shot(page, 'consent-withheld');
      await closePage(page);

      const customer = h.sandbox.data.byArchetype('new');
      const open2 = await open(`email=${encodeURIComponent(customer.email!)}`, { base: `${guarded.url}/panel` });
      // A marker event seen pushed: the subscription is registered.
      await untilLive(open2, customer, open2, 'erasure-marker', guarded);
      const admin = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles: ['admin'] });
      const erased = await guarded.gql(
        `mutation ($l: CustomerLookupInput!) { eraseCustomer(lookup: $l) { found } }`,
        { l: { userId: customer.userId } },
        { authorization: `Bearer ${admin}` },
      );
      expect(erased.data).toEqual({ eraseCustomer: { found: true } });
      await expect(open2.locator('[data-state=erased] h1').textContent()).resolves.toBe('Customer erased');
      await expect(open2.getByRole('status').textContent()).resolves.toBe("This customer's data was erased.");
      await shot(open2, 'erased');
      await closePage(open2);
    } finally {
      await within('stopping the second instance', 20_000, guarded.close());
    }
  });

  it("puts what the last contact left at the top: the wrap-up note's summary, sentiment, a request for a manager; withheld from a role that may not read it", async () => {
    const world = { accountSid: h.sandbox.credentials.accountSid };
    const transcript = intelligenceDemo(h.sandbox.data, world, 0)!;
    const [interaction] = interactionsDemo(h.sandbox.data, world, transcript.customer);
    const customer = transcript.customer;
    const announced = await postJson(h, '/webhooks/intelligence', { transcript_sid: transcript.sid, event_type: 'voice_intelligence_transcript_available' });
    expect(await announced.json()).toEqual({ outcome: 'applied' });
    const note = (fields: Record<string, unknown>) => ({
      sid: `KQ${'7'.repeat(32)}`,
      event_type: 'note_created',
      interaction_sid: interaction.sid,
      channel_sid: interaction.channelSid,
      participant_sid: interaction.agentParticipantSid,
      summary: null,
      sentiment: null,
      generated_summary: 'Order 1042 arrived damaged; a replacement was promised for Friday.',
      generated_sentiment: 'negative',
      ...fields,
    });
    expect(await (await postJson(h, '/webhooks/copilot', note({}))).json()).toEqual({ outcome: 'applied' });

    const page = await open(phone(customer));
    const recap = page.getByRole('region', { name: 'Last contact' });
    await recap.waitFor();
    await expect(page.evaluate("document.querySelector('.customer').firstElementChild.classList.contains('recap')")).resolves.toBe(true);
    await expect(recap.locator('blockquote').textContent()).resolves.toBe('Order 1042 arrived damaged; a replacement was promised for Friday.');
    await expect(recap.locator('.recap-flags').textContent()).resolves.toMatch(/Asked for a manager \(24 h\).*Sentiment: negative/);
    await expect(recap.locator('figcaption').textContent()).resolves.toContain('Wrap-up note · negative');
    // The same customer buys for a business account: the identity block names it.
    await expect(page.getByLabel('Account').textContent()).resolves.toContain('Contoso Logistics');
    await shot(page, 'last-contact', false);

    // The agent completes the note with an edit: the open panel shows it without a reload.
    await untilLive(page, customer, page, 'recap-marker');
    await page.evaluate('window.notReloaded = true');
    const edited = 'Replacement shipped with express delivery; the customer accepted.';
    const sent = await postJson(h, '/webhooks/copilot', note({ event_type: 'note_updated', summary: edited, sentiment: 'positive' }));
    expect(await sent.json()).toEqual({ outcome: 'applied' });
    await recap.locator('blockquote', { hasText: edited }).waitFor({ timeout: 5_000 });
    await expect(recap.locator('figcaption').textContent()).resolves.toContain('Wrap-up note · positive');
    await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
    await closePage(page);

    const guarded = await within(
      'starting an instance with the example access policy',
      20_000,
      // On the same Redis keys: the notes this instance kept are the other's too.
      startHarness({ sandbox: h.sandbox, keyPrefix: h.config.redis.keyPrefix, env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY } }),
    );
    try {
      const token = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles: ['wfo.data_analyst'] });
      const hidden = await open(phone(customer), { base: `${guarded.url}/panel`, token });
      const summary = hidden.getByRole('region', { name: 'Last contact' }).locator('blockquote');
      await summary.waitFor();
      await expect(summary.textContent()).resolves.toBe('The summary is not shown to your role.');
      await expect(summary.getAttribute('data-withheld')).resolves.toBe('');
      await expect(hidden.locator('.customer').textContent()).resolves.not.toContain('Replacement shipped');
      await closePage(hidden);
    } finally {
      await within('stopping the second instance', 20_000, guarded.close());
    }
  });
});
