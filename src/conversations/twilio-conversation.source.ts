import { Injectable } from '@nestjs/common';
import { TwilioCalls } from '../twilio/twilio-calls';
import { ConversationSource } from './conversation.source';
import type { ConversationMessage, ConversationSummary } from './conversation.types';

const PAGE_SIZE = 50;

/** Twilio Conversations through twilio-node. */
@Injectable()
export class TwilioConversationSource extends ConversationSource {
  constructor(private readonly twilio: TwilioCalls) {
    super();
  }

  conversationsOf(address: string, limit: number): Promise<ConversationSummary[]> {
    return this.call('participant_conversations', async () => {
      const items = await this.twilio.client.conversations.v1.participantConversations.list({ address, pageSize: PAGE_SIZE, limit });
      return items.map((item) => {
        const binding = (item.participantMessagingBinding ?? {}) as { type?: string; address?: string };
        const customerAddress = binding.address ?? address;
        return {
          sid: item.conversationSid,
          channel: binding.type ?? channelOf(customerAddress),
          state: item.conversationState,
          createdAt: toIso(item.conversationDateCreated) ?? new Date(0).toISOString(),
          updatedAt: toIso(item.conversationDateUpdated),
          friendlyName: item.conversationFriendlyName ?? null,
          address: customerAddress,
        };
      });
    });
  }

  messages(conversationSid: string, last: number): Promise<ConversationMessage[]> {
    return this.call(
      'messages',
      async () => {
        const items = await this.twilio.client.conversations.v1
          .conversations(conversationSid)
          .messages.list({ order: 'desc', pageSize: Math.min(last, 100), limit: last });
        return items
          .map((m) => ({
            sid: m.sid,
            index: m.index,
            author: m.author ?? null,
            body: m.body ?? null,
            createdAt: toIso(m.dateCreated) ?? new Date(0).toISOString(),
          }))
          .reverse();
      },
      { 404: [] },
    );
  }

  customerAddress(conversationSid: string): Promise<string | null> {
    return this.call(
      'participants',
      async () => {
        const participants = await this.twilio.client.conversations.v1
          .conversations(conversationSid)
          .participants.list({ pageSize: PAGE_SIZE, limit: PAGE_SIZE });
        for (const participant of participants) {
          const binding = (participant.messagingBinding ?? {}) as { address?: string };
          if (binding.address) return binding.address;
        }
        return null;
      },
      { 404: null },
    );
  }

  /** Calls that walk pages: twice the timeout per attempt. */
  private call<T, A = never>(route: string, work: () => Promise<T>, answers: Readonly<Record<number, A>> = {}): Promise<T | A> {
    return this.twilio.call(route, work, answers, 2);
  }
}

export function channelOf(address: string): string {
  const prefix = /^([a-z]+):/.exec(address)?.[1];
  if (prefix) return prefix;
  if (address.includes('@')) return 'email';
  return address.startsWith('+') ? 'sms' : 'chat';
}

function toIso(value: Date | string | null | undefined): string | null {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
