import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { parseAddress } from '../identity/identity';
import { ChangeAnnouncer } from '../ingest/change-announcer';
import type { ContextChange } from '../changes/change';
import { KeptRecords } from '../changes/kept-records';
import type { ResolvedProfile } from '../profiles/profile.types';
import { CustomerContextService } from '../context/customer-context.service';
import { IntelligenceSource } from './intelligence.source';
import { toInsights } from './operator-results';

/** Transcripts whose results are kept per customer (a transcript gives a few insights). */
export const MAX_TRANSCRIPTS = 20;
/** How long a customer's insights are kept after the last one arrived. */
export const INSIGHTS_TTL_MS = 30 * 24 * 60 * 60_000;

/**
 * Turns an announced transcript into the customer's insights: reads the transcript (whose
 * customer participant names the customer) and its operator results from Twilio, keeps them in
 * the cache under the customer's profile, and tells the customer's subscribers.
 */
@Injectable()
export class IntelligenceIngestService {
  constructor(
    private readonly config: AppConfig,
    private readonly kept: KeptRecords,
    private readonly intelligence: IntelligenceSource,
    private readonly announcer: ChangeAnnouncer,
    private readonly contexts: CustomerContextService,
  ) {}

  async apply(transcriptSid: string): Promise<'applied' | 'unknown_transcript' | 'unknown_customer'> {
    const transcript = await this.intelligence.transcript(transcriptSid);
    if (!transcript) return 'unknown_transcript';
    const parsed = transcript.customerAddress ? parseAddress(transcript.customerAddress, this.config.identity.defaultPhoneRegion) : null;
    // Resolved as any lookup is: from the cache, else through the budgeted Profile API; a failed
    // read on the way is an error, so the announcement's retry finds the customer.
    const root =
      parsed && (parsed.phone || parsed.email) ? await this.contexts.resolveProfile(parsed.phone ? { phone: parsed.phone } : { email: parsed.email }) : null;
    if (!root?.profileKey) return 'unknown_customer';
    const profile: ResolvedProfile = { profileId: root.profileKey, externalIds: root.externalIds };
    const insights = toInsights(await this.intelligence.operatorResults(transcriptSid), transcript.sid, transcript.at);
    // One record per transcript, written atomically beside the others: its results replace what an
    // earlier delivery of it left, and two transcripts of one customer arriving at once are both kept.
    await this.kept.keep(
      'insights',
      profile.profileId,
      { field: transcript.sid, value: insights, at: Date.parse(transcript.at) || Date.now(), rev: 0 },
      { max: MAX_TRANSCRIPTS, ttlMs: INSIGHTS_TTL_MS },
    );
    const change: ContextChange = { profileId: profile.profileId, parts: ['intelligence'], source: 'intelligence', at: new Date().toISOString(), insights };
    await this.announcer.announce(change, profile);
    return 'applied';
  }
}
