import { cacheKeys } from '../cache/cache-keys';
import type { CacheService } from '../cache/cache.service';
import type { ResolvedProfile } from '../profiles/profile.types';
import type { IdentifierDigest } from '../common/identifier-digest';

/**
 * The profile the first of these identifiers already resolved to, read from the cache only: a
 * webhook learns which profile it concerns without a Profile API call.
 */
export async function cachedProfile(
  cache: CacheService,
  ids: IdentifierDigest,
  candidates: Array<[type: string, id: string | null | undefined]>,
): Promise<ResolvedProfile | null> {
  for (const [type, id] of candidates) {
    if (!id) continue;
    const cached = await cache.peek<ResolvedProfile | null>(cacheKeys.resolution(ids, type, id));
    if (cached?.value) return cached.value;
  }
  return null;
}
