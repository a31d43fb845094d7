export type ConversationState = 'active' | 'inactive' | 'closed';

export interface ConversationSummary {
  sid: string;
  /** sms, whatsapp, messenger, email, chat... derived from the participant's binding. */
  channel: string | null;
  /** A `ConversationState`, or a state Twilio added since (passed through as it is). */
  state: string;
  createdAt: string;
  updatedAt: string | null;
  friendlyName: string | null;
  /** The customer's address in this conversation. */
  address: string | null;
}

export interface ConversationMessage {
  sid: string;
  index: number;
  author: string | null;
  body: string | null;
  createdAt: string;
}
