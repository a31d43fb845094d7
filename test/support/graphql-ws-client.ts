import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { ChangedPart, ContextChange } from '../../src/changes/change';
import { ChangeBus } from '../../src/changes/change-bus';
import type { Harness } from './harness';

/**
 * graphql-ws subscribers for the e2e suites, and the barrier they wait on instead of a pause.
 *
 * A barrier is a sentinel change published on the instance's change bus, the path every webhook's
 * change takes (Redis pub/sub to every instance, then each subscription's filter and resolver):
 * once a subscriber has received it, its subscription is registered, and every change published
 * before it (a webhook's change is published before the webhook is answered) has been pushed to
 * it or refused. So "nothing was pushed" is proven by a barrier received after the webhook, not
 * by waiting a while. Sentinels never show in `received`.
 */

/** The part a sentinel change carries; no real change has it. */
const BARRIER_PART = 'barrier' as ChangedPart;
/** Selected beside the caller's fields (aliased) so a subscriber knows a sentinel when one comes. */
const BARRIER_FIELDS = '_barrierParts: parts _barrierId: conversationSid';

/** A graphql-ws client for the instance, the token in connection_init; resolves once the server sent connection_ack. */
export async function connectGraphqlWs(h: Pick<Harness, 'url'>, token: string): Promise<Client> {
  const client = createClient({
    url: `${h.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { token },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (event) => reject(new Error(`closed before connection_ack: ${(event as { code?: number }).code}`)));
  }).catch(async (error: unknown) => {
    await client.dispose();
    throw error;
  });
  return client;
}

export interface ChangeSubscriber<T> {
  /** What was pushed, sentinels left out. */
  received: T[];
  /** GraphQL errors and socket errors the subscription ended with. */
  errors: unknown[];
  client: Client;
  /**
   * Publishes a sentinel change for the profile (through `via`'s change bus) and resolves once this
   * subscriber received it, publishing again while it has not (the subscription may not be
   * registered yet). Rejects when it does not come within `timeoutMs`, or the subscription failed.
   */
  barrier(via?: Harness, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  token: string;
  profileId: string;
  /** The fields of customerContextChanged to select. */
  selection: string;
  /**
   * Wait until the subscription is registered (a sentinel received) before resolving (default).
   * `false` for a subscription the server may refuse: wait on its errors instead.
   */
  registered?: boolean;
}

/** Subscribes to a customer's changes on instance `h`; by default resolves once the subscription is registered. */
export async function subscribeToChanges<T = Record<string, unknown>>(h: Harness, options: SubscribeOptions): Promise<ChangeSubscriber<T>> {
  const client = await connectGraphqlWs(h, options.token);
  const received: T[] = [];
  const errors: unknown[] = [];
  const sentinels = new Set<string>();
  client.subscribe<{ customerContextChanged: Record<string, unknown> }>(
    {
      query: `subscription($id: ID!) { customerContextChanged(profileId: $id) { ${options.selection} ${BARRIER_FIELDS} } }`,
      variables: { id: options.profileId },
    },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        const change = value.data?.customerContextChanged;
        if (!change) return;
        const { _barrierParts: parts, _barrierId: id, ...fields } = change;
        if (Array.isArray(parts) && parts.includes(BARRIER_PART)) sentinels.add(String(id));
        else received.push(fields as T);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  const barrier = async (via: Harness = h, timeoutMs = 10_000) => {
    const id = `barrier-${randomUUID()}`;
    const sentinel: ContextChange = {
      profileId: options.profileId,
      parts: [BARRIER_PART],
      source: 'segment',
      at: new Date().toISOString(),
      conversationSid: id,
    };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await via.app.get(ChangeBus).publish(sentinel);
      // Published again every 250 ms: the first ones may come before the subscription exists.
      const again = Math.min(deadline, Date.now() + 250);
      while (!sentinels.has(id) && errors.length === 0 && Date.now() < again) await new Promise((resolve) => setTimeout(resolve, 5));
      if (sentinels.has(id)) return;
      if (errors.length > 0) throw new Error(`the subscription failed: ${JSON.stringify(errors)}`);
      if (Date.now() >= deadline) throw new Error(`no sentinel change reached the subscriber within ${timeoutMs} ms`);
    }
  };
  const subscriber: ChangeSubscriber<T> = { received, errors, client, barrier, close: async () => client.dispose() };
  if (options.registered !== false) await barrier();
  return subscriber;
}
