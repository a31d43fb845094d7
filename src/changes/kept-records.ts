import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { RedisConnection, redisUnavailable } from '../cache/redis-connection';
import { AppConfig } from '../config/config';

/** What webhooks keep per customer that no upstream can give back: Conversational Intelligence results, Copilot wrap-up notes. */
export type KeptKind = 'insights' | 'notes';

/** One record: replaced by a later write of the same field unless that write's revision is lower. */
export interface KeptWrite {
  /** The record's own id within its kind (a transcript sid, a note sid). */
  field: string;
  value: unknown;
  /** Orders the records: the oldest go first when there are more than `max`. Milliseconds since the epoch. */
  at: number;
  /** A write never replaces a record of a higher revision (a late `note_created` after its `note_updated`). */
  rev: number;
}

export interface KeptBounds {
  max: number;
  ttlMs: number;
}

/** A write or erasure Redis did not take is refused with 503 (UNAVAILABLE), so whoever asked retries. */
const unavailable = (error: unknown): never => {
  throw redisUnavailable(error);
};

/** Profiles whose records are memoised per instance; a change of the profile's news key drops its memo. */
const MAX_MEMOISED = 10_000;
/** Bounds how long a memo can outlive a change whose bus message was lost (the bus delivers at most once). */
const MEMO_TTL_MS = 60_000;

/**
 * One atomic step: keep the record unless a higher revision is kept, order it, drop the oldest past
 * the bound, renew the lifetime. Returns 1 when what is kept changed. Written in one script so that
 * two webhooks writing one customer at once both land (a read-modify-write of a whole list lost one).
 * KEYS[1] the records (hash), KEYS[2] their order (sorted set); ARGV field, value, at, rev, max, ttl.
 */
const KEEP = `
local kept = redis.call('HGET', KEYS[1], ARGV[1])
local entry = ARGV[4] .. '|' .. ARGV[2]
if kept then
  local rev = tonumber(string.match(kept, '^(%d+)|')) or 0
  if rev > tonumber(ARGV[4]) or kept == entry then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], entry)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  local dropped = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  redis.call('HDEL', KEYS[1], unpack(dropped))
  redis.call('ZREM', KEYS[2], unpack(dropped))
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return redis.call('HEXISTS', KEYS[1], ARGV[1])`;

type KeepClient = (Redis | Cluster) & {
  ccKeep(hash: string, order: string, field: string, value: string, at: number, rev: number, max: number, ttlMs: number): Promise<number>;
};

interface LocalEntry {
  rev: number;
  json: string;
  at: number;
}

/**
 * Records webhooks deliver about a customer and nothing upstream can be asked for again, kept per
 * profile and kind in a Redis hash (one field per record) with a sorted set ordering them, written
 * by one script per record (`KEEP`): concurrent webhooks for one customer never overwrite each
 * other, a redelivery changes nothing, and the bound and lifetime hold. Without Redis, the same in
 * process. Reads are memoised per instance until the profile's news key (`cacheKeys.news`) changes.
 */
@Injectable()
export class KeptRecords implements OnModuleInit {
  private client?: KeepClient;
  private readonly local = new LRUCache<string, Map<string, LocalEntry>>({ max: 10 * MAX_MEMOISED, ttlAutopurge: false });
  private readonly memo = new LRUCache<string, Promise<unknown[]>>({ max: MAX_MEMOISED, ttl: MEMO_TTL_MS });
  /** Bumped on every change of a profile: a read that began before a change is not memoised. */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    private readonly cache: CacheService,
  ) {}

  onModuleInit(): void {
    if (this.redis.enabled) {
      const client = this.redis.create('kept');
      client.defineCommand('ccKeep', { numberOfKeys: 2, lua: KEEP });
      this.client = client as KeepClient;
    }
    // Any instance's webhook announces its profile's news key before pushing the change.
    this.cache.onProfileNews((profileKey) => this.changed(profileKey));
  }

  /** Keeps one record; true when what is kept changed (a new record, or new content for one). */
  async keep(kind: KeptKind, profileKey: string, write: KeptWrite, bounds: KeptBounds): Promise<boolean> {
    const json = JSON.stringify(write.value);
    try {
      if (this.client) {
        const [hash, order] = this.keys(kind, profileKey);
        return (
          (await this.client
            .ccKeep(hash, order, write.field, json, Math.round(write.at), Math.max(0, Math.floor(write.rev)), bounds.max, bounds.ttlMs)
            .catch(unavailable)) === 1
        );
      }
      return this.keepLocally(kind, profileKey, write, json, bounds);
    } finally {
      this.changed(profileKey);
    }
  }

  /** A profile's records of one kind, in no particular order. Rejects when Redis cannot be read. */
  read<T>(kind: KeptKind, profileKey: string): Promise<T[]> {
    const memoKey = `${kind}\n${profileKey}`;
    const memoised = this.memo.get(memoKey) as Promise<T[]> | undefined;
    if (memoised) return memoised;
    const generation = this.generation.get(profileKey) ?? 0;
    const loading = this.load<T>(kind, profileKey);
    this.memo.set(memoKey, loading);
    loading.then(
      () => {
        // Changed while it was read: the next read asks again.
        if ((this.generation.get(profileKey) ?? 0) !== generation && this.memo.get(memoKey) === loading) this.memo.delete(memoKey);
      },
      () => {
        if (this.memo.get(memoKey) === loading) this.memo.delete(memoKey);
      },
    );
    return loading;
  }

  /** Drops every record of a profile (erasure). Returns how many there were. */
  async forget(profileKey: string): Promise<number> {
    this.changed(profileKey);
    let count = 0;
    for (const kind of ['insights', 'notes'] as const) {
      if (this.client) {
        const [hash, order] = this.keys(kind, profileKey);
        const [[, found]] = (await this.client.multi().hlen(hash).del(hash, order).exec().catch(unavailable)) as Array<[Error | null, number]>;
        count += found;
      } else {
        count += this.local.get(`${kind}\n${profileKey}`)?.size ?? 0;
        this.local.delete(`${kind}\n${profileKey}`);
      }
    }
    return count;
  }

  private async load<T>(kind: KeptKind, profileKey: string): Promise<T[]> {
    if (!this.client) return [...(this.local.get(`${kind}\n${profileKey}`)?.values() ?? [])].map((e) => JSON.parse(e.json) as T);
    const fields = await this.client.hgetall(this.keys(kind, profileKey)[0]);
    return Object.values(fields).map((entry) => JSON.parse(entry.slice(entry.indexOf('|') + 1)) as T);
  }

  private keepLocally(kind: KeptKind, profileKey: string, write: KeptWrite, json: string, bounds: KeptBounds): boolean {
    const key = `${kind}\n${profileKey}`;
    const entries = this.local.get(key) ?? new Map<string, LocalEntry>();
    const kept = entries.get(write.field);
    if (kept && (kept.rev > write.rev || (kept.rev === write.rev && kept.json === json))) return false;
    entries.set(write.field, { rev: write.rev, json, at: write.at });
    const oldestFirst = [...entries.entries()].sort((a, b) => a[1].at - b[1].at);
    for (const [field] of oldestFirst.slice(0, Math.max(0, entries.size - bounds.max))) entries.delete(field);
    this.local.set(key, entries, { ttl: bounds.ttlMs });
    return entries.has(write.field);
  }

  private changed(profileKey: string): void {
    this.generation.set(profileKey, (this.generation.get(profileKey) ?? 0) + 1);
    if (this.generation.size > MAX_MEMOISED) this.generation.delete(this.generation.keys().next().value as string);
    this.memo.delete(`insights\n${profileKey}`);
    this.memo.delete(`notes\n${profileKey}`);
  }

  private keys(kind: KeptKind, profileKey: string): [string, string] {
    // The profile's hash tag keeps both keys on one Redis Cluster slot, as the script (and DEL) need.
    const hash = `${this.config.redis.keyPrefix}${cacheKeys[kind](profileKey)}`;
    return [hash, `${hash}:order`];
  }
}
