import type { CacheService } from '../cache/cache.service';
import type { PubSub, RedisConnection } from '../cache/redis-connection';
import type { AppConfig } from '../config/config';
import type { ContextChange } from './change';
import { ChangeBus } from './change-bus';

const change: ContextChange = { profileId: 'use_1', parts: ['traits'], source: 'segment', at: '2026-01-01T00:00:00.000Z', traits: { plan: 'gold' } };

/** The order a change leaves in: its key change announced (and published) before the push is sent. */
describe('ChangeBus', () => {
  const config = { redis: { keyPrefix: 'cc:' } } as AppConfig;

  it('pushes a change only once the key change of its profile is published', async () => {
    const sent: Array<{ push: string; announcedBefore: boolean }> = [];
    let announced = false;
    const cache = {
      announce: async (keys: string[]) => {
        await Promise.resolve(); // published a moment later, as over Redis
        expect(keys).toEqual(['p:{use_1}:news']);
        announced = true;
      },
    } as unknown as CacheService;
    const pubSub = {
      subscribe: () => ({ subscribed: Promise.resolve(), off: () => undefined }),
      publish: async (channel: string, message: string) => {
        sent.push({ push: `${channel} ${message}`, announcedBefore: announced });
      },
    } as unknown as PubSub;
    const bus = new ChangeBus(config, { enabled: true, pubSub: () => pubSub } as unknown as RedisConnection, cache);
    await bus.onModuleInit();
    await bus.publish(change);
    expect(sent).toEqual([{ push: `cc:changes ${JSON.stringify(change)}`, announcedBefore: true }]);
  });

  it('without Redis, hands the change to its listeners once the key change is announced', async () => {
    const order: string[] = [];
    const cache = {
      announce: async () => {
        await Promise.resolve();
        order.push('key change');
      },
    } as unknown as CacheService;
    const bus = new ChangeBus(config, { enabled: false } as unknown as RedisConnection, cache);
    await bus.onModuleInit();
    bus.onChange((c) => order.push(`push ${c.profileId}`));
    await bus.publish(change);
    expect(order).toEqual(['key change', 'push use_1']);
  });
});
