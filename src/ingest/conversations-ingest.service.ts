import { Injectable } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { AppConfig } from '../config/config';
import { ConversationSource } from '../conversations/conversation.source';
import { addressesFor, messageAuthor, parseAddress } from '../identity/identity';
import type { ChangedPart, ContextChange } from '../changes/change';
import { cachedProfile } from './cached-profile';
import { ChangeAnnouncer } from './change-announcer';
import { IdentifierDigest } from '../common/identifier-digest';

export interface ConversationEvent {
  type: 'onMessageAdded' | 'onConversationAdded' | 'onConversationStateUpdated' | 'onParticipantAdded';
  conversationSid: string;
  /** The participant's binding address (onParticipantAdded): always a customer's. */
  address: string | null;
  message: { sid: string; author: string | null; body: string | null; createdAt: string } | null;
}

/**
 * Keeps cached conversation history current from Twilio's post-event webhooks: the lists and
 * messages an event touches are dropped (Twilio already has the new state, the next read gets
 * it) and the customer's subscribers are told what changed.
 */
@Injectable()
export class ConversationsIngestService {
  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly conversations: ConversationSource,
    private readonly announcer: ChangeAnnouncer,
    private readonly ids: IdentifierDigest,
  ) {}

  async apply(event: ConversationEvent): Promise<'applied' | 'unknown_customer'> {
    const region = this.config.identity.defaultPhoneRegion;
    const address = await this.customerAddress(event);
    const parsed = address ? parseAddress(address, region) : null;
    const addresses = parsed ? addressesFor({ phones: parsed.phone ? [parsed.phone] : [], emails: parsed.email ? [parsed.email] : [] }) : [];
    if (parsed && !addresses.includes(parsed.twilio)) addresses.push(parsed.twilio);
    const parts: ChangedPart[] = ['conversations'];
    const stale = addresses.map((a) => cacheKeys.conversations(this.ids, a));
    if (event.type === 'onMessageAdded') {
      parts.push('messages');
      stale.push(cacheKeys.messages(event.conversationSid));
    }
    await this.cache.delete(stale);
    const profile = parsed
      ? await cachedProfile(this.cache, this.ids, [
          [this.config.segment.phoneIdType, parsed.phone],
          ['email', parsed.email],
        ])
      : null;
    if (!profile) return 'unknown_customer';
    const change: ContextChange = {
      profileId: profile.profileId,
      parts,
      source: 'conversations',
      at: new Date().toISOString(),
      conversationSid: event.conversationSid,
      ...(event.message ? { message: { ...event.message, ...messageAuthor(event.message.author, address, region) } } : {}),
    };
    await this.announcer.announce(change, profile);
    return 'applied';
  }

  /**
   * A binding's address, or a phone that wrote a message (agents write as their identity, never a
   * phone); else, an email author being maybe an agent, the conversation's customer participant.
   */
  private async customerAddress(event: ConversationEvent): Promise<string | null> {
    const region = this.config.identity.defaultPhoneRegion;
    if (event.address && parseAddress(event.address, region)) return event.address;
    const author = event.message?.author;
    if (author && parseAddress(author, region)?.phone) return author;
    const sid = event.conversationSid;
    try {
      const cached = await this.cache.getOrSet(cacheKeys.conversationCustomer(sid), this.config.cache.externalIds, () =>
        this.conversations.customerAddress(sid),
      );
      return cached.value;
    } catch {
      return null;
    }
  }
}
