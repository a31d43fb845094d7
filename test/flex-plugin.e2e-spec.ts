import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, PANEL_WIDTH } from './support/panel-browser';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { eventually } from './support/twilio-callers';
import { ensureViteBuilt } from './support/vite-build';

/**
 * The Flex plugin as Flex runs it: a stand-in for Flex's page (its own origin, React and ReactDOM
 * as globals, `Twilio.Flex.Plugins.init`, a `flex`/`manager` pair) loads the bundle from the
 * service by a script tag; the plugin frames the real panel for a task and keeps its token fresh.
 */

const ROOT = join(__dirname, '..');
const PLUGIN = join(ROOT, 'flex-plugin');
const SECRET = 'flex-plugin-segment-secret';

interface Setup {
  pluginUrl: string;
  token: string;
  uiAttributes: unknown;
  task: { taskSid: string; attributes: unknown } | null;
}

/**
 * Flex's page, reduced to what a plugin touches: `Twilio.Flex.Plugins.init(Plugin)` creates the
 * plugin and calls `init(flex, manager)`; the CRM container shows `uriCallback(task)` in an iframe
 * (or the content a plugin put there), and the task header renders its added children with the
 * task among their props, as Flex's dynamic content does. `renewToken` does what Flex does when
 * it refreshes the agent's token.
 */
const FLEX_PAGE = `<!doctype html><html><head><title>Flex stand-in</title>
<script src="/react.js"></script><script src="/react-dom.js"></script></head>
<body style="margin:0"><div id="header"></div><div id="crm" style="width:${PANEL_WIDTH}px;height:860px"></div>
<script>
  const setup = JSON.parse(new URLSearchParams(location.search).get('setup'));
  const listeners = {};
  const manager = {
    user: { token: setup.token },
    serviceConfiguration: { ui_attributes: setup.uiAttributes },
    events: { addListener: (name, fn) => (listeners[name] = listeners[name] || []).push(fn) },
  };
  const content = () => { const items = []; return { items, add: (el) => items.push(el), replace: (el) => items.splice(0, items.length, el) }; };
  const flex = { CRMContainer: { defaultProps: {}, Content: content() }, TaskCanvasHeader: { Content: content() } };
  function render() {
    const h = React.createElement;
    const task = setup.task;
    ReactDOM.render(h('div', null, ...flex.TaskCanvasHeader.Content.items.map((el) => React.cloneElement(el, { task }))), document.getElementById('header'));
    const crm = flex.CRMContainer.Content.items.length > 0
      ? h('div', null, ...flex.CRMContainer.Content.items)
      : h('iframe', { id: 'crm-frame', title: 'CRMContainer', src: flex.CRMContainer.defaultProps.uriCallback(task), style: { width: '100%', height: '100%', border: 0 } });
    ReactDOM.render(crm, document.getElementById('crm'));
  }
  window.Twilio = { Flex: Object.assign(flex, { Plugins: { init(Plugin) { const plugin = new Plugin(); plugin.init(flex, manager); window.loadedPlugin = plugin.uniqueName + '@' + plugin.version; render(); } } }) };
  window.renewToken = (token) => { manager.user.token = token; (listeners.tokenUpdated || []).forEach((fn) => fn({ token })); };
  const script = document.createElement('script');
  script.src = setup.pluginUrl;
  script.onerror = () => { window.pluginFailed = true; };
  document.body.appendChild(script);
</script></body></html>`;

async function startFlexStandIn(): Promise<{ origin: string; server: Server }> {
  const react = readFileSync(join(PLUGIN, 'node_modules/react/umd/react.production.min.js'));
  const reactDom = readFileSync(join(PLUGIN, 'node_modules/react-dom/umd/react-dom.production.min.js'));
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path === '/react.js' || path === '/react-dom.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(path === '/react.js' ? react : reactDom);
    } else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(FLEX_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('Flex plugin (browser e2e)', () => {
  let h: Harness;
  let browser: BrowserContext;
  let chromiumSession: { close(): Promise<void> } | undefined;
  let flex: { origin: string; server: Server };
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureViteBuilt('panel', 'dist/index.html', ['src', 'index.html', 'vite.config.mts']);
    ensureViteBuilt('flex-plugin', 'dist/plugin-customer-context.js', ['src', 'vite.config.mts', 'package.json']);
    flex = await startFlexStandIn();
    h = await startHarness({
      sandbox: { customers: 12 },
      env: { UPSTREAM_TIMEOUT_MS: '5000', SEGMENT_WEBHOOK_SECRET: SECRET, CORS_ORIGINS: `https://flex.twilio.com,${flex.origin}` },
    });
    const session = await launchChromium('flex-plugin', 960);
    chromiumSession = session;
    browser = session.context;
  }, 60_000);

  afterAll(async () => {
    await chromiumSession?.close();
    await h?.close();
    flex?.server.closeAllConnections();
    await new Promise((resolve) => flex?.server.close(resolve));
  });

  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  const pluginUrl = () => `${h.url}/flex-plugin/plugin-customer-context.js`;
  async function openFlex(setup: Setup, watch?: (page: Page) => void): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    watch?.(page);
    await page.goto(`${flex.origin}/flex?setup=${encodeURIComponent(JSON.stringify(setup))}`);
    await page.waitForFunction('window.loadedPlugin || window.pluginFailed');
    await expect(page.evaluate('window.loadedPlugin')).resolves.toBe('plugin-customer-context@0.1.0');
    return page;
  }

  it('serves the bundle to any origin without a token, revalidated by its ETag', async () => {
    const response = await fetch(pluginUrl(), { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    // The bundle registers itself the way Flex loads plugins, and uses Flex's React.
    const source = await response.text();
    expect(source).toContain('Twilio.Flex.Plugins.init');
    expect(source).toMatch(/\}\)\(React\);\s*(\/\/# sourceMappingURL=.*)?$/);
    const etag = response.headers.get('etag')!;
    const again = await fetch(pluginUrl(), { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${h.url}/flex-plugin/other.js`)).status).toBe(404);
  });

  it("frames the panel for the selected task, shows routing's badge, and hands over the renewed token so the panel keeps working", async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const taskSid = vip.tasks[0].sid;
    const stamped = await h.gql<{ enrichTask: { stamped: boolean } }>(
      'mutation ($sid: ID!) { enrichTask(taskSid: $sid) { stamped } }',
      { sid: taskSid },
      { authorization: `Bearer ${h.sandbox.credentials.supervisorToken}` },
    );
    expect(stamped.errors).toBeUndefined();
    const task = { taskSid, attributes: h.sandbox.data.task(taskSid)!.attributes };
    expect(task.attributes).toMatchObject({ customer_context: { vip: true } });

    // A token close to its end, as Flex renews them (time enough for a slow machine to show the panel with it).
    const identity = h.sandbox.data.agents[0].identity;
    const oldToken = h.sandbox.issueToken({ identity, expiresInSeconds: 8 });
    const newToken = h.sandbox.issueToken({ identity });
    // Every GraphQL call the panel makes: with which token, and how the service answered.
    const graphql: Array<{ token: string | undefined; status: number }> = [];
    const page = await openFlex({ pluginUrl: pluginUrl(), token: oldToken, uiAttributes: { customerContext: { serviceUrl: h.url } }, task }, (opened) =>
      opened.on('response', (response) => {
        if (new URL(response.url()).pathname === '/graphql' && response.request().method() === 'POST') {
          graphql.push({
            token: response
              .request()
              .headers()
              .authorization?.replace(/^Bearer /, ''),
            status: response.status(),
          });
        }
      }),
    );

    await expect(page.locator('iframe#crm-frame').getAttribute('src')).resolves.toBe(`${h.url}/panel?taskSid=${taskSid}`);
    const panel = page.frameLocator('iframe#crm-frame');
    await expect(panel.locator('[data-state=ready] h1').textContent()).resolves.toBe(vip.name);
    await expect(page.getByRole('note', { name: 'Customer context' }).textContent()).resolves.toContain('VIP');
    expect(graphql.map((call) => call.token)).toContain(oldToken);

    await page.evaluate(`window.renewToken(${JSON.stringify(newToken)})`);
    await eventually(() => graphql.some((call) => call.token === newToken), Boolean);
    // The service now refuses the old token...
    await eventually(
      () =>
        fetch(`${h.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${oldToken}` },
          body: '{"query":"{ __typename }"}',
        }).then((r) => r.status),
      (status) => status === 401,
      15_000,
    );
    // ...and the open panel still shows what happens to its customer.
    await panel.locator('.live-live').waitFor();
    const response = await postSegment(h, {
      type: 'track',
      event: 'Return Requested',
      userId: vip.userId,
      messageId: 'flex-plugin-renewed-1',
      timestamp: new Date().toISOString(),
    });
    expect(response.status).toBe(200);
    await panel.locator('.timeline li', { hasText: 'Return Requested' }).first().waitFor();
    const afterRenewal = graphql.slice(graphql.findIndex((call) => call.token === newToken));
    expect(afterRenewal.every((call) => call.token === newToken && call.status === 200)).toBe(true);
    expect(graphql.every((call) => call.status === 200)).toBe(true);
    await expect(panel.locator('[data-state=signin]').count()).resolves.toBe(0);
    await page.close();
  }, 60_000);

  it('says in the CRM container that the service is not configured', async () => {
    const page = await openFlex({ pluginUrl: pluginUrl(), token: h.sandbox.credentials.agentToken, uiAttributes: {}, task: null });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('ui_attributes.customerContext.serviceUrl');
    await expect(page.locator('iframe').count()).resolves.toBe(0);
    await page.close();
  });
});
