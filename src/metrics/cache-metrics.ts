import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { cacheResource } from './cache-resources';

/** The bentocache events counted here (bentocache emits them synchronously on every lookup). */
export interface CacheEventSource {
  on(event: 'cache:hit', callback: (hit: { key: string; layer: 'l1' | 'l2'; graced: boolean }) => void): unknown;
  on(event: 'cache:miss', callback: (miss: { key: string }) => void): unknown;
  on(event: 'bus:message:published' | 'bus:message:received', callback: () => void): unknown;
}

/**
 * Cache hits per tier (L1 in process, L2 Redis) and freshness, misses (the upstream is called),
 * per resource; and invalidation traffic on the bus. Children are kept per label set: the
 * lookups run several times per request, and prom-client would otherwise hash labels each time.
 */
@Injectable()
export class CacheMetrics {
  private readonly hits: Counter<'resource' | 'tier' | 'state'>;
  private readonly misses: Counter<'resource'>;
  private readonly bus: Counter<'direction'>;
  private readonly children = new Map<string, Counter.Internal>();

  constructor(registry: Registry) {
    this.hits = new Counter({
      name: 'cc_cache_hits_total',
      help: 'Cache lookups answered from a tier (l1: in process, l2: Redis); state stale = past its TTL, served while it refreshes',
      labelNames: ['resource', 'tier', 'state'] as const,
      registers: [registry],
    });
    this.misses = new Counter({
      name: 'cc_cache_misses_total',
      help: 'Cache lookups that found nothing in either tier (a read-through then calls the upstream)',
      labelNames: ['resource'] as const,
      registers: [registry],
    });
    this.bus = new Counter({
      name: 'cc_cache_bus_messages_total',
      help: 'Invalidations sent to (published) and received from other instances over Redis pub/sub',
      labelNames: ['direction'] as const,
      registers: [registry],
    });
  }

  watch(cache: CacheEventSource): void {
    cache.on('cache:hit', ({ key, layer, graced }) => {
      const state = graced ? 'stale' : 'fresh';
      this.child(`hit ${layer} ${state}`, key, (resource) => this.hits.labels(resource, layer, state)).inc();
    });
    cache.on('cache:miss', ({ key }) => this.child('miss', key, (resource) => this.misses.labels(resource)).inc());
    cache.on('bus:message:published', () => this.bus.inc({ direction: 'published' }));
    cache.on('bus:message:received', () => this.bus.inc({ direction: 'received' }));
  }

  /** The counter child for this kind of event on this key's resource (a bounded set of ids). */
  private child(kind: string, key: string, create: (resource: string) => Counter.Internal): Counter.Internal {
    const resource = cacheResource(key);
    const id = `${kind} ${resource}`;
    let child = this.children.get(id);
    if (!child) this.children.set(id, (child = create(resource)));
    return child;
  }
}
