import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a Redis server that can hold back what Redis sends to the client's
 * subscriber connections (those that sent a SUBSCRIBE), and let it through one connection at a
 * time. TCP keeps each connection's bytes in order but nothing orders two connections: the proxy
 * plays the network at its most unlucky, handing over the connection that received last first.
 * Commands (and their replies) on every other connection pass at once.
 */
export interface RedisProxy {
  /** `redis://` URL of the proxy. */
  url: string;
  /** From now on, what Redis sends on subscriber connections is held. */
  hold(): void;
  /** Resolves once the held bytes contain every one of `needles` (each on any connection). */
  holding(...needles: string[]): Promise<void>;
  /** Hands over what the connection that received last holds, and lets it pass from then on; the others stay held. */
  releaseNewest(): void;
  /** Hands over everything held and stops holding. */
  releaseAll(): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  subscriber: boolean;
  held: Buffer[];
  /** When its last held bytes arrived (a sequence number), 0 when it holds nothing. */
  lastHeld: number;
  released: boolean;
}

export async function startRedisProxy(redisUrl: string): Promise<RedisProxy> {
  const target = new URL(redisUrl);
  const links = new Set<Link>();
  const sockets = new Set<Socket>();
  let holdingOn = false;
  let sequence = 0;
  let waiters: Array<() => void> = [];
  const changed = () => {
    const current = waiters;
    waiters = [];
    current.forEach((wake) => wake());
  };

  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const link: Link = { client, subscriber: false, held: [], lastHeld: 0, released: false };
    links.add(link);
    client.on('data', (data: Buffer) => {
      if (/subscribe/i.test(data.toString('latin1'))) link.subscriber = true;
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (holdingOn && link.subscriber && !link.released) {
        link.held.push(data);
        link.lastHeld = ++sequence;
        changed();
      } else {
        client.write(data);
      }
    });
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };

  const flush = (link: Link) => {
    for (const chunk of link.held) link.client.write(chunk);
    link.held = [];
    link.lastHeld = 0;
  };

  return {
    url: `redis://127.0.0.1:${address.port}`,
    hold() {
      holdingOn = true;
      for (const link of links) link.released = false;
    },
    async holding(...needles) {
      const found = () => needles.every((needle) => [...links].some((link) => Buffer.concat(link.held).includes(needle)));
      while (!found()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    releaseNewest() {
      const newest = [...links].filter((link) => link.lastHeld > 0).sort((a, b) => b.lastHeld - a.lastHeld)[0];
      if (!newest) return;
      newest.released = true;
      flush(newest);
    },
    releaseAll() {
      holdingOn = false;
      for (const link of links) flush(link);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
