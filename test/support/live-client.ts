import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** What a `customerContextChanged` subscription received, and its connection (dispose it when done). */
export interface Pushes<T> {
  received: T[];
  errors: unknown[];
  client: Client;
}

/**
 * A graphql-ws connection to a running service (answered once the server acknowledged
 * `connection_init`), subscribed to `customerContextChanged(profileId)` with `selection`. The
 * server registers the subscription a moment after the subscribe message: wait for a first push
 * (`firstPush`) before relying on it.
 */
export async function subscribeToChanges<T>(baseUrl: string, token: string, profileId: string, selection: string): Promise<Pushes<T>> {
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { token },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (event) => reject(new Error(`closed: ${(event as { code?: number }).code}`)));
  });
  const pushes: Pushes<T> = { received: [], errors: [], client };
  client.subscribe<{ customerContextChanged: T }>(
    { query: `subscription($id: ID!) { customerContextChanged(profileId: $id) { ${selection} } }`, variables: { id: profileId } },
    {
      next: (value) => (value.errors ? pushes.errors.push(...value.errors) : value.data && pushes.received.push(value.data.customerContextChanged)),
      error: (error) => pushes.errors.push(error),
      complete: () => undefined,
    },
  );
  return pushes;
}

/**
 * Calls `poke` (something that makes the server push to this subscription) until a push arrives,
 * then empties `received`: from then on the subscription is registered and every push counts.
 */
export async function firstPush<T>(pushes: Pushes<T>, poke: (attempt: number) => Promise<unknown>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; pushes.received.length === 0; attempt++) {
    if (Date.now() > deadline) throw new Error(`no push arrived within ${timeoutMs} ms`);
    await poke(attempt);
    const wait = Date.now() + 200;
    while (pushes.received.length === 0 && Date.now() < wait) await new Promise((r) => setTimeout(r, 10));
  }
  pushes.received.length = 0;
}
