import { Injectable } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { AppConfig } from '../config/config';
import type { ContextChange } from '../live/change';
import { PendingChanges } from '../live/pending-changes';
import { cachedProfile } from './cached-profile';
import { ChangeAnnouncer } from './change-announcer';
import { isOwnEvent } from '../tracking/own-events';
import { Deliveries } from './deliveries';
import { occurredAt, type SegmentMessage } from './segment-event';
import { IdentifierDigest } from '../security/identifier-digest';

export type IngestOutcome = 'applied' | 'duplicate' | 'unknown_customer' | 'ignored';

/**
 * Applies what Segment's webhook says to the cached context, without asking the Profile API:
 * identify → traits, track/page/screen → events, alias → identity. A customer nobody has looked
 * up yet is not in the cache and costs nothing beyond the dedupe.
 */
@Injectable()
export class SegmentIngestService {
  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly pending: PendingChanges,
    private readonly deliveries: Deliveries,
    private readonly announcer: ChangeAnnouncer,
    private readonly ids: IdentifierDigest,
  ) {}

  async apply(message: SegmentMessage): Promise<IngestOutcome> {
    // Our own tracked events coming back through the same Segment source: applying them would loop.
    if (isOwnEvent(message)) return 'ignored';
    if (!(await this.deliveries.first('segment', message.messageId))) return 'duplicate';
    if (message.type === 'group') return 'ignored';
    const profile = await cachedProfile(this.cache, this.ids, [
      ['user_id', message.userId],
      ['anonymous_id', message.anonymousId],
    ]);
    if (!profile) return 'unknown_customer';
    const at = occurredAt(message);
    const change: ContextChange = { profileId: profile.profileId, parts: [], source: 'segment', at: new Date().toISOString() };
    switch (message.type) {
      case 'identify': {
        const traits = message.traits ?? {};
        if (Object.keys(traits).length === 0) return 'ignored';
        await this.pending.addTraits(profile.profileId, traits, Date.parse(at));
        Object.assign(change, { parts: ['traits'], traits });
        break;
      }
      case 'alias': {
        // The old id now names the same profile; no Profile API call needed to learn it.
        const previousId = message.previousId as string;
        for (const type of ['user_id', 'anonymous_id']) {
          await this.cache.put(cacheKeys.resolution(this.ids, type, previousId), profile, this.config.cache.resolution.ttlMs);
        }
        change.parts = ['identity'];
        break;
      }
      default: {
        const event = {
          id: message.messageId,
          type: message.type,
          name: message.event ?? message.name ?? null,
          occurredAt: at,
          properties: message.properties ?? null,
        };
        await this.pending.addEvent(profile.profileId, event);
        Object.assign(change, { parts: ['events'], event });
      }
    }
    await this.announcer.announce(change, profile);
    return 'applied';
  }
}
