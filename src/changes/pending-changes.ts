import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { RedisConnection, redisUnavailable } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import type { ConsentRecord } from '../profiles/consent-preferences';
import type { ProfileEvent, ProfileTraits, Traits } from '../profiles/profile.types';

/** How long webhook news is layered over fetched data: longer than Segment takes to catch up. */
const PENDING_TTL_MS = 10 * 60_000;
/** Segment's Profile API lags its webhooks by seconds; a fetch this much younger than a patch may predate it. */
const PROFILE_API_LAG_MS = 60_000;
const MAX_PENDING_EVENTS = 100;
/** Profiles whose overlay is memoised: the working set of customers agents have open. */
const MAX_MEMOISED = 10_000;

interface Pending {
  events: ProfileEvent[];
  traits: Record<string, { value: unknown; at: number }>;
  consent: ConsentRecord[];
  /** Redis could not be read: the overlay is empty because it is unknown, not because nothing came. */
  unread?: true;
}

const EMPTY: Pending = { events: [], traits: {}, consent: [] };
const UNREAD: Pending = { ...EMPTY, unread: true };

/** A webhook's news that Redis did not take is refused with 503, so its sender retries. */
const rethrow = (error: unknown): never => {
  throw redisUnavailable(error);
};

/**
 * What webhooks told us about a profile that the Profile API may not show yet. Every read of
 * traits and events layers it over what the cache holds, so news is visible at once and a
 * refresh running at the same moment cannot lose it. Kept in a Redis hash (atomic HSET per item,
 * so concurrent webhooks never overwrite each other) and memoised per instance until the profile's
 * news key (`cacheKeys.news`) changes, which every webhook change announces before its push.
 */
@Injectable()
export class PendingChanges implements OnModuleInit {
  private client?: Redis | Cluster;
  /** Without Redis: the overlay itself, per profile, for as long as Redis would keep it. */
  private readonly local = new LRUCache<string, Map<string, string>>({ max: 10 * MAX_MEMOISED, ttl: PENDING_TTL_MS });
  /** Bounded in count and age (no timer per entry): it expires with the data it layers. */
  private readonly memo = new LRUCache<string, Promise<Pending>>({ max: MAX_MEMOISED, ttl: PENDING_TTL_MS });

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    private readonly cache: CacheService,
  ) {}

  onModuleInit(): void {
    if (this.redis.enabled) this.client = this.redis.create('pending');
    // Any instance's webhook announces its profile's news key before pushing the change.
    this.cache.onProfileNews((profileKey) => this.memo.delete(profileKey));
  }

  async addEvent(profileKey: string, event: ProfileEvent): Promise<void> {
    await this.write(profileKey, `e:${event.id}`, JSON.stringify(event));
  }

  async addTraits(profileKey: string, traits: Traits, at: number): Promise<void> {
    for (const [name, value] of Object.entries(traits)) await this.write(profileKey, `t:${name}`, JSON.stringify({ value, at }));
  }

  /** Consent preferences a webhook message carried (any type: identify, track, the Consent Preference Updated event). */
  async addConsent(profileKey: string, messageId: string, record: ConsentRecord): Promise<void> {
    await this.write(profileKey, `c:${messageId}`, JSON.stringify(record));
  }

  /**
   * The consent preferences webhooks delivered lately, in no particular order. Throws UNAVAILABLE
   * when Redis could not be read: a withdrawal may be among them, so "none" would fail open.
   */
  async consent(profileKey: string): Promise<ConsentRecord[]> {
    const pending = await this.read(profileKey);
    if (pending.unread) throw redisUnavailable(new Error('webhook news could not be read'));
    return pending.consent;
  }

  /** Drops everything webhooks told about a profile (erasure). Returns how many items there were. */
  async forget(profileKey: string): Promise<number> {
    this.memo.delete(profileKey);
    if (this.client) {
      const key = this.key(profileKey);
      const [[, count], [, deleted]] = (await this.client.multi().hlen(key).del(key).exec().catch(rethrow)) as Array<[Error | null, number]>;
      void deleted;
      return count;
    }
    const count = this.local.get(profileKey)?.size ?? 0;
    this.local.delete(profileKey);
    return count;
  }

  /** Fetched events with webhook events merged in: newest first, no duplicates, window kept. */
  async events(profileKey: string, fetched: ProfileEvent[], window: number): Promise<ProfileEvent[]> {
    const pending = await this.read(profileKey);
    if (pending.events.length === 0) return fetched;
    const known = new Set(fetched.map((e) => e.id));
    const merged = [...fetched, ...pending.events.filter((e) => !known.has(e.id))];
    return merged.sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt)).slice(0, window);
  }

  /**
   * Fetched traits with newer identify traits on top. Such a trait was set when its message says
   * (its origin's `updatedAt`); the webhook does not say by which Segment source.
   */
  async traits(profileKey: string, fetched: ProfileTraits, fetchedAt: number): Promise<ProfileTraits> {
    const pending = await this.read(profileKey);
    const newer = Object.entries(pending.traits).filter(([, patch]) => patch.at > fetchedAt - PROFILE_API_LAG_MS);
    if (newer.length === 0) return fetched;
    return {
      traits: { ...fetched.traits, ...Object.fromEntries(newer.map(([name, patch]) => [name, patch.value])) },
      origins: {
        ...fetched.origins,
        ...Object.fromEntries(
          newer.map(([name, patch]) => [name, { sourceId: null, updatedAt: Number.isFinite(patch.at) ? new Date(patch.at).toISOString() : null }]),
        ),
      },
    };
  }

  private read(profileKey: string): Promise<Pending> {
    let pending = this.memo.get(profileKey);
    if (!pending) {
      const loading = this.load(profileKey).catch(() => {
        // Redis trouble: answer without the overlay now, and ask Redis again on the next read.
        if (this.memo.get(profileKey) === loading) this.memo.delete(profileKey);
        return UNREAD;
      });
      pending = loading;
      this.memo.set(profileKey, pending);
    }
    return pending;
  }

  private async load(profileKey: string): Promise<Pending> {
    const fields = this.client ? await this.client.hgetall(this.key(profileKey)) : Object.fromEntries(this.local.get(profileKey) ?? []);
    const events: ProfileEvent[] = [];
    const traits: Pending['traits'] = {};
    const consent: ConsentRecord[] = [];
    for (const [field, json] of Object.entries(fields)) {
      if (field.startsWith('e:')) events.push(JSON.parse(json) as ProfileEvent);
      else if (field.startsWith('t:')) traits[field.slice(2)] = JSON.parse(json) as { value: unknown; at: number };
      else if (field.startsWith('c:')) consent.push(JSON.parse(json) as ConsentRecord);
    }
    events.sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt));
    return { events: events.slice(0, MAX_PENDING_EVENTS), traits, consent };
  }

  private async write(profileKey: string, field: string, json: string): Promise<void> {
    this.memo.delete(profileKey);
    if (this.client) {
      const key = this.key(profileKey);
      await this.client.multi().hset(key, field, json).pexpire(key, PENDING_TTL_MS).exec().catch(rethrow);
      return;
    }
    const fields = this.local.get(profileKey) ?? new Map<string, string>();
    fields.set(field, json);
    this.local.set(profileKey, fields); // and its TTL starts again, as PEXPIRE does in Redis
  }

  private key(profileKey: string): string {
    return `${this.config.redis.keyPrefix}${cacheKeys.pendingChanges(profileKey)}`;
  }
}
