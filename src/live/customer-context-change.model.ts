import { Field, ID, ObjectType } from '@nestjs/graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { Event, Insight, Message, WrapUpNote } from '../context/customer-context.model';

@ObjectType({ description: 'What changed about a customer; small parts carry their new values.' })
export class CustomerContextChange {
  @Field(() => ID)
  profileId!: string;

  @Field(() => [String], {
    description: 'traits, events, identity, conversations, messages, consent, intelligence, notes; erased: the customer was erased (query again: null)',
  })
  parts!: string[];

  @Field({ description: 'segment, conversations, intelligence, copilot or erasure' })
  source!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The traits an identify changed, with their new values.' })
  traits!: Record<string, unknown> | null;

  @Field(() => Event, { nullable: true, description: 'The new event (track, page, screen).' })
  event!: Event | null;

  @Field(() => String, { nullable: true })
  conversationSid!: string | null;

  @Field(() => Message, { nullable: true, description: 'The new message (onMessageAdded).' })
  message!: Message | null;

  @Field(() => [Insight], { nullable: true, description: "A transcript's new Conversational Intelligence results." })
  insights?: Insight[] | null;

  @Field(() => WrapUpNote, { nullable: true, description: 'A new Agent Copilot wrap-up note, or its new version.' })
  note?: WrapUpNote | null;
}
