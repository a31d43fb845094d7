/**
 * Hands the agent's Flex token to the panel, as docs/flex-plugin.md specifies: only in answer to
 * the panel's `customer-context:ready`, only to a window on the panel's origin, and with that
 * origin named as the target, so the browser drops the message if the frame has navigated
 * elsewhere. When Flex renews the token, every panel that asked gets the new one at once, so an
 * open panel never has to show "sign in".
 */
export const READY_MESSAGE = 'customer-context:ready';
export const TOKEN_MESSAGE = 'customer-context:token';

/** What the relay needs of a window: to hear messages. */
export interface MessageTarget {
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

interface Recipient {
  postMessage(message: unknown, targetOrigin: string): void;
  closed?: boolean;
}

export interface TokenRelay {
  /** Flex renewed the token (`manager.events` `tokenUpdated`). */
  renewed(token: string): void;
  stop(): void;
}

export function relayToken(host: MessageTarget, panelOrigin: string, currentToken: () => string | undefined): TokenRelay {
  // The windows of the panels that asked. A CRM iframe keeps its window across tasks; one that
  // is gone reports `closed` and is dropped.
  const panels = new Set<Recipient>();
  const send = (panel: Recipient, token: string | undefined) => {
    if (typeof token === 'string' && token !== '') panel.postMessage({ type: TOKEN_MESSAGE, token }, panelOrigin);
  };
  const listener = (event: MessageEvent) => {
    if (event.origin !== panelOrigin) return;
    if ((event.data as { type?: unknown } | null)?.type !== READY_MESSAGE) return;
    const source = event.source as Recipient | null;
    if (!source || typeof source.postMessage !== 'function') return;
    panels.add(source);
    send(source, currentToken());
  };
  host.addEventListener('message', listener);
  return {
    renewed(token) {
      for (const panel of panels) {
        if (panel.closed) panels.delete(panel);
        else send(panel, token);
      }
    },
    stop() {
      host.removeEventListener('message', listener);
      panels.clear();
    },
  };
}
