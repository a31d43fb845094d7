import { Injectable } from '@nestjs/common';
import type { ContextChange } from '../changes/change';
import { ChangeBus } from '../changes/change-bus';
import type { ResolvedProfile } from '../profiles/profile.types';
import type { ChangeSource, TrackedPart } from '../tracking/tracking-plan';
import { TrackingService } from '../tracking/tracking.service';

const TRACKED_SOURCE: Partial<Record<ContextChange['source'], ChangeSource>> = {
  segment: 'segment_webhook',
  intelligence: 'intelligence_webhook',
  copilot: 'copilot_webhook',
};

/** Tells every instance's subscribers, and the data team, that a customer's context changed. */
@Injectable()
export class ChangeAnnouncer {
  constructor(
    private readonly bus: ChangeBus,
    private readonly tracking: TrackingService,
  ) {}

  async announce(change: ContextChange, profile: ResolvedProfile): Promise<void> {
    await this.bus.publish(change);
    this.tracking.contextChanged({
      customer: { profileKey: profile.profileId, resolvedBy: null, externalIds: profile.externalIds, addresses: [] },
      parts: change.parts.flatMap((part): TrackedPart[] => (part === 'identity' ? ['external_ids'] : part === 'consent' || part === 'erased' ? [] : [part])),
      source: TRACKED_SOURCE[change.source] ?? 'conversations_webhook',
    });
  }
}
