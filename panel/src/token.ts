import type { PanelSettings } from './settings';

/**
 * Where the Flex token comes from. In Flex's CRM container the plugin posts it to the iframe
 * (the only thing Flex passes is the URL, and a long-lived token must never sit in a URL the
 * server sees). In AUTH_MODE=dev a `#token=` fragment works too: fragments never leave the browser.
 * The token lives in memory only.
 */
const READY_MESSAGE = 'customer-context:ready';
const TOKEN_MESSAGE = 'customer-context:token';

export interface TokenSource {
  /** Asks the parent again, e.g. after the server refused an expired token. */
  request(): void;
  stop(): void;
  embedded: boolean;
}

export function watchToken(settings: PanelSettings, onToken: (token: string) => void): TokenSource {
  const embedded = window.parent !== window;
  const listener = (event: MessageEvent) => {
    // Only the page that frames us, and only if it is an allowed origin: any other frame could post.
    if (event.source !== window.parent || !settings.parentOrigins.includes(event.origin)) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type === TOKEN_MESSAGE && typeof data.token === 'string' && data.token !== '') onToken(data.token);
  };
  const request = () => {
    // One post per allowed origin: the browser delivers only the one matching the parent.
    for (const origin of settings.parentOrigins) window.parent.postMessage({ type: READY_MESSAGE }, origin);
  };
  if (embedded) {
    window.addEventListener('message', listener);
    request();
  }
  const fromFragment = takeFragmentToken();
  if (fromFragment && settings.fragmentToken) onToken(fromFragment);
  return { request: embedded ? request : () => undefined, stop: () => window.removeEventListener('message', listener), embedded };
}

/** Reads `#token=` and removes it from the address bar, so it is not copied along with the URL. */
function takeFragmentToken(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return token || null;
}
