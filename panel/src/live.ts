import { createClient } from 'graphql-ws';

/**
 * customerContextChanged over graphql-ws, the token in connection_init. Delivery is at most
 * once, so the panel re-queries on every change and after every reconnect instead of patching
 * its copy from the pushed values.
 */
export type LiveState = 'connecting' | 'live' | 'offline';

interface LiveHandlers {
  /** Something changed, or may have while the socket was down; `parts` says what, when pushed. */
  onChange(parts?: string[]): void;
  onState(state: LiveState): void;
}

const SUBSCRIPTION = 'subscription Panel($id: ID!) { customerContextChanged(profileId: $id) { parts } }';
const MAX_RETRY_WAIT_MS = 30_000;

export function subscribeToChanges(token: string, profileId: string, handlers: LiveHandlers): () => void {
  const client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { token },
    lazy: false,
    // An agent keeps the panel open for a whole call: keep trying through restarts and network blips,
    // but not at graphql-ws's default doubling without bound.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_WAIT_MS, 1_000 * 2 ** retries) + Math.random() * 1_000)),
    keepAlive: 20_000,
  });
  const listeners = [
    client.on('connecting', () => handlers.onState('connecting')),
    client.on('closed', () => handlers.onState('offline')),
    client.on('connected', (_socket, _payload, wasRetry) => {
      handlers.onState('live');
      // What changed while the socket was down was not pushed: read the current state.
      if (wasRetry) handlers.onChange();
    }),
  ];
  const unsubscribe = client.subscribe(
    { query: SUBSCRIPTION, variables: { id: profileId } },
    { next: (value) => handlers.onChange((value.data as { customerContextChanged?: { parts?: string[] } } | null | undefined)?.customerContextChanged?.parts), error: () => handlers.onState('offline'), complete: () => undefined },
  );
  return () => {
    // Silence first: disposing closes the socket, which is not news for a panel going away.
    for (const unlisten of listeners) unlisten();
    unsubscribe();
    void client.dispose();
  };
}
