import { Module } from '@nestjs/common';
import { ConversationSource } from './conversation.source';
import { TwilioConversationSource } from './twilio-conversation.source';

/** Conversation history from Twilio Conversations. */
@Module({ providers: [{ provide: ConversationSource, useClass: TwilioConversationSource }], exports: [ConversationSource] })
export class ConversationsModule {}
