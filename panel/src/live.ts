import { createClient } from 'graphql-ws';
import { CHANGE_SELECTION, type PushedChange } from './patch';

/**
 * customerContextChanged over graphql-ws, the token in connection_init. A push carries the new
 * values of small parts, which the panel shows at once; delivery is at most once, so the panel
 * still reads the whole context after every change and every reconnect.
 */
export type LiveState = 'connecting' | 'live' | 'offline';

interface LiveHandlers {
  /** Something changed: what the push says, or null when it may have while the socket was down. */
  onChange(change: PushedChange | null): void;
  onState(state: LiveState): void;
  /** The service closed the socket because the token expired (the panel is offline until a new one comes). */
  onExpired(): void;
}

const SUBSCRIPTION = `subscription Panel($id: ID!) { customerContextChanged(profileId: $id) { ${CHANGE_SELECTION} } }`;
const MAX_RETRY_WAIT_MS = 30_000;
/** The close code the service uses when the socket's token has expired; the same token would be refused again. */
const TOKEN_EXPIRED = 4403;
const expired = (event: unknown) => (event as { code?: unknown } | null)?.code === TOKEN_EXPIRED;

export function subscribeToChanges(token: string, profileId: string, handlers: LiveHandlers): () => void {
  const client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { token },
    lazy: false,
    // An agent keeps the panel open for a whole call: keep trying through restarts and network blips,
    // but not at graphql-ws's default doubling without bound.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !expired(event),
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_WAIT_MS, 1_000 * 2 ** retries) + Math.random() * 1_000)),
    keepAlive: 20_000,
  });
  const listeners = [
    client.on('connecting', () => handlers.onState('connecting')),
    client.on('closed', (event) => (expired(event) ? handlers.onExpired() : handlers.onState('offline'))),
    client.on('connected', (_socket, _payload, wasRetry) => {
      handlers.onState('live');
      // What changed while the socket was down was not pushed: read the current state.
      if (wasRetry) handlers.onChange(null);
    }),
  ];
  const unsubscribe = client.subscribe<{ customerContextChanged: PushedChange }>(
    { query: SUBSCRIPTION, variables: { id: profileId } },
    {
      next: (value) => handlers.onChange(value.data?.customerContextChanged ?? null),
      // An expired token is handled where the socket closed.
      error: (error) => {
        if (!expired(error)) handlers.onState('offline');
      },
      complete: () => undefined,
    },
  );
  return () => {
    // Silence first: disposing closes the socket, which is not news for a panel going away.
    for (const unlisten of listeners) unlisten();
    unsubscribe();
    void client.dispose();
  };
}
