import { Injectable } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { AppConfig } from '../config/config';
import type { ContextChange } from '../changes/change';
import { PendingChanges } from '../changes/pending-changes';
import { cachedProfile } from './cached-profile';
import { ChangeAnnouncer } from './change-announcer';
import { isOwnEvent } from '../tracking/own-events';
import { Deliveries } from './deliveries';
import { preferencesOf } from '../profiles/consent-preferences';
import { ErasureService } from '../privacy/erasure.service';
import { occurredAt, type SegmentMessage } from './segment-event';
import { IdentifierDigest } from '../common/identifier-digest';

export type IngestOutcome = 'applied' | 'duplicate' | 'unknown_customer' | 'ignored' | 'erased';

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
    private readonly erasure: ErasureService,
  ) {}

  async apply(message: SegmentMessage): Promise<IngestOutcome> {
    // Our own tracked events coming back through the same Segment source: applying them would loop.
    if (isOwnEvent(message)) return 'ignored';
    if (!(await this.deliveries.first('segment', message.messageId))) return 'duplicate';
    if (message.type === 'group') return 'ignored';
    // A deletion request Segment forwards: erase whether or not anyone looked the customer up.
    if (message.type === 'delete') {
      await this.erasure.erase({ userId: message.userId }, { via: 'segment', identity: null });
      return 'erased';
    }
    const profile = await cachedProfile(this.cache, this.ids, [
      ['user_id', message.userId],
      ['anonymous_id', message.anonymousId],
    ]);
    if (!profile) return 'unknown_customer';
    const at = occurredAt(message);
    const change: ContextChange = { profileId: profile.profileId, parts: [], source: 'segment', at: new Date().toISOString() };
    // Any message may carry the customer's consent (the Consent Preference Updated event always does).
    const preferences = preferencesOf(message.context);
    if (preferences) await this.pending.addConsent(profile.profileId, message.messageId, { preferences, at });
    switch (message.type) {
      case 'identify': {
        const traits = message.traits ?? {};
        if (Object.keys(traits).length === 0) {
          if (!preferences) return 'ignored';
          change.parts = ['consent'];
          break;
        }
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
    if (preferences && !change.parts.includes('consent')) change.parts.push('consent');
    await this.announcer.announce(change, profile);
    return 'applied';
  }
}
