import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** What the panel's browser tests and its benchmark share: the browser, and a stand-in for Flex. */

/** Debian's Chromium: playwright-core never downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The width of Flex's CRM container that the panel is framed at. */
export const PANEL_WIDTH = 480;

/**
 * Debian's Chromium, headless, at the CRM container's width, with a profile of its own that
 * `close` removes again.
 */
export async function launchChromium(name: string, height: number): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profileDir = mkdtempSync(join(tmpdir(), `${name}-chromium-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: PANEL_WIDTH, height },
    args: CHROMIUM_ARGS,
  });
  context.setDefaultTimeout(10_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** The performance mark the panel sets once the customer can be read (panel/src/App.tsx). */
export const USEFUL_MARK = 'customer-context:useful';

/**
 * Stands in for Flex: a page on another origin that frames the panel and answers its ready
 * message with the token from its own `#token=` fragment, as docs/flex-plugin.md tells a plugin
 * to (read at each request: a test renews the token by changing the fragment); with
 * `siblingOrigin`, also a hidden sibling frame on a third origin (which must not be able to hand
 * the panel a token).
 */
export function flexPage(panelUrl: string, siblingOrigin?: string): string {
  const sibling = siblingOrigin ? `<iframe id="sibling" title="Another plugin" src="${siblingOrigin}/sibling" style="display:none"></iframe>` : '';
  return `<!doctype html><html><head><title>Flex stand-in</title></head><body style="margin:0">
<iframe id="panel" title="Customer context" src="${panelUrl}" style="width:${PANEL_WIDTH}px;height:860px;border:0"></iframe>
${sibling}
<script>
  const panel = document.getElementById('panel');
  const panelOrigin = new URL(panel.src).origin;
  window.addEventListener('message', (event) => {
    if (event.origin !== panelOrigin || event.source !== panel.contentWindow) return;
    if (event.data && event.data.type === 'customer-context:ready') {
      window.panelAsked = true;
      const token = new URLSearchParams(location.hash.slice(1)).get('token');
      if (token) panel.contentWindow.postMessage({ type: 'customer-context:token', token }, panelOrigin);
    }
  });
</script></body></html>`;
}

export interface FlexStandIn {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `flexPage` at `/flex?<panel query>` (the panel at `panelBase()`, the sibling frame on
 * `siblingOrigin()` when given) and an empty page at `/sibling`, on its own loopback origin; the
 * service's CORS_ORIGINS must name that origin for the panel to take the token.
 */
export async function startFlexStandIn(panelBase: () => string, siblingOrigin?: () => string): Promise<FlexStandIn> {
  const server = createServer((request, response) => {
    const url = request.url ?? '';
    const html = url.startsWith('/sibling')
      ? '<!doctype html><title>sibling</title>'
      : flexPage(`${panelBase()}${url.slice('/flex'.length)}`, siblingOrigin?.());
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
