import type { ConversationMessage, ConversationSummary } from './conversation.types';

/** Port to the conversation history (Twilio Conversations). */
export abstract class ConversationSource {
  /** Every conversation the address took part in (up to `limit`), in no particular order. */
  abstract conversationsOf(address: string, limit: number): Promise<ConversationSummary[]>;
  /** The latest `last` messages, oldest first. Empty when the conversation does not exist. */
  abstract messages(conversationSid: string, last: number): Promise<ConversationMessage[]>;
  /** The customer's (non-agent) address in a conversation; null when unknown. */
  abstract customerAddress(conversationSid: string): Promise<string | null>;
}
