import type { Type } from '@nestjs/common';
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { GraphQLJSON } from 'graphql-scalars';

@ObjectType()
export class ExternalId {
  @Field()
  type!: string;

  @Field()
  id!: string;
}

@ObjectType({ description: 'A Segment event on the profile (last 14 days).' })
export class Event {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'track, page, screen, identify...' })
  type!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => GraphQLJSON, { nullable: true })
  properties!: Record<string, unknown> | null;
}

@ObjectType()
export class Message {
  @Field(() => ID)
  sid!: string;

  @Field(() => String, { nullable: true })
  author!: string | null;

  @Field({ description: 'The customer wrote it (from their address); false for agents and automations.' })
  fromCustomer!: boolean;

  /** Not a field: the customer's identifier type when they wrote it, for the access policy. */
  authorType?: 'phone' | 'email' | null;

  @Field(() => String, { nullable: true })
  body!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: 'A Twilio conversation the customer took part in.' })
export class Conversation {
  @Field(() => ID)
  sid!: string;

  @Field(() => String, { nullable: true })
  channel!: string | null;

  @Field({ description: 'active, inactive or closed' })
  state!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  updatedAt!: Date | null;

  @Field(() => String, { nullable: true })
  friendlyName!: string | null;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field()
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A Relay connection of `node` items: `<Node>Edge` and, through the subclass, `<Node>Connection`. */
function Connection<T>(node: Type<T>, totalCountDescription?: string) {
  @ObjectType(`${node.name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType({ isAbstract: true })
  abstract class ConnectionOf {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: totalCountDescription })
    totalCount!: number;
  }
  return ConnectionOf;
}

@ObjectType()
export class EventConnection extends Connection(Event, 'Events in the cached window (the newest, up to EVENTS_WINDOW).') {}

@ObjectType()
export class ConversationConnection extends Connection(Conversation) {}

@ObjectType({ description: 'What one Conversational Intelligence language operator concluded about a conversation.' })
export class Insight {
  @Field(() => ID, { description: 'The transcript (GT…) the operator ran on.' })
  transcriptSid!: string;

  @Field({ description: 'The operator name, e.g. Sentiment Analysis, Escalation Request, Conversation Summary.' })
  operator!: string;

  @Field({ description: 'sentiment, escalation, do_not_contact, summary or other' })
  kind!: string;

  @Field(() => String, { nullable: true, description: 'A classifier label (negative), or true/false for a match operator.' })
  label!: string | null;

  @Field(() => String, { nullable: true, description: 'A text-generation result (a summary).' })
  text!: string | null;

  @Field(() => Date)
  at!: Date;
}

@ObjectType({ description: 'An Agent Copilot wrap-up note: what the last agent wrote (or Copilot generated) when they wrapped up an interaction.' })
export class WrapUpNote {
  @Field(() => ID, { description: 'The note (KQ…).' })
  sid!: string;

  @Field({ description: 'The Flex Interaction (KD…) the note wraps up.' })
  interactionSid!: string;

  @Field(() => String, { nullable: true, description: "The agent's summary, else the one Copilot generated. Read like a message body." })
  summary!: string | null;

  @Field(() => String, { nullable: true, description: "The agent's sentiment, else the one Copilot generated (e.g. neutral, negative)." })
  sentiment!: string | null;

  @Field(() => String, { nullable: true, description: 'The disposition code (its sid) the agent chose, when they chose one.' })
  disposition!: string | null;

  @Field(() => String, { nullable: true, description: 'The language Copilot detected (en-US).' })
  language!: string | null;

  @Field({ description: 'note_created, or note_updated once the agent clicked Complete (it replaces the created version).' })
  event!: string;

  @Field(() => Date, { description: 'When the service first heard of the note.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When the service heard of this version.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'One entry of the merged timeline: a Segment event, a conversation, an intelligence result or a wrap-up note.' })
export class JourneyEntry {
  @Field({ description: 'event, conversation, intelligence or note' })
  kind!: string;

  @Field(() => Date)
  at!: Date;

  @Field({ description: 'Event name, or the conversation channel and state.' })
  title!: string;

  @Field(() => Event, { nullable: true })
  event!: Event | null;

  @Field(() => Conversation, { nullable: true })
  conversation!: Conversation | null;

  @Field(() => Insight, { nullable: true })
  insight?: Insight | null;

  @Field(() => WrapUpNote, { nullable: true })
  note?: WrapUpNote | null;
}

@ObjectType({ description: 'Facts derived from events and conversations.' })
export class CustomerSignals {
  @Field({ description: 'Two or more conversations started in the last 24 hours.' })
  repeatContact24h!: boolean;

  @Field(() => Int, { description: 'Conversations started in the last 24 hours.' })
  contacts24h!: number;

  @Field(() => Int, { description: 'Conversations not closed.' })
  openConversations!: number;

  @Field(() => Date, { nullable: true, description: 'Latest event or conversation activity.' })
  lastSeenAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Latest Order Completed event, else the last_purchase_at trait.' })
  lastPurchaseAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The latest Conversational Intelligence sentiment label (positive, neutral, negative).' })
  lastSentiment!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the latest sentiment result was produced.' })
  lastSentimentAt!: Date | null;

  @Field({ description: 'An Escalation Request operator matched in the last 24 hours.' })
  escalationRequested24h!: boolean;

  @Field({ description: 'A "Do Not Contact" operator matched in a kept conversation.' })
  doNotContact!: boolean;

  @Field(() => String, { nullable: true, description: "The latest Agent Copilot wrap-up note's sentiment." })
  lastNoteSentiment!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the latest wrap-up note was written.' })
  lastNoteAt!: Date | null;
}

@ObjectType()
export class SourceStatus {
  @Field({
    description:
      'segment.profile, segment.traits, segment.audiences, segment.events, segment.accounts, segment.account_traits, twilio.task, twilio.conversations, twilio.messages, twilio.intelligence, twilio.copilot',
  })
  source!: string;

  @Field(() => Date, { nullable: true, description: 'When the oldest copy shown was fetched; null when some of it could not be read at all (error says why).' })
  fetchedAt!: Date | null;

  @Field()
  stale!: boolean;

  @Field(() => String, { nullable: true, description: 'Error code when the source failed; the answer for it is empty or last known.' })
  error!: string | null;
}

@ObjectType()
export class Freshness {
  @Field({ description: 'True when any source answered from a stale copy or failed.' })
  stale!: boolean;

  @Field(() => [SourceStatus])
  sources!: SourceStatus[];
}

@ObjectType({ description: 'A trait with where its current value came from (Segment /traits?verbose=true).' })
export class TraitDetail {
  @Field()
  key!: string;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The value, as in traits (masked and filtered alike).' })
  value!: unknown;

  @Field(() => String, {
    nullable: true,
    description: "The Segment source that last set it (source_id); null when Segment did not say, or a webhook's news is newer.",
  })
  source!: string | null;

  @Field(() => Date, { nullable: true, description: 'When it was last set (updated_at); null when unknown.' })
  updatedAt!: Date | null;

  @Field({ description: 'Set longer ago than TRAIT_STALE_AFTER_MS (default 90 days); false when updatedAt is unknown.' })
  stale!: boolean;
}

@ObjectType({ description: "An account (Segment's accounts collection, from group calls) the customer is linked to." })
export class Account {
  @Field(() => String, {
    nullable: true,
    description:
      "The account's group_id. The access policy's traits rules apply to it under account.group_id, and to one written as an email or an E.164 phone number also those of email or phone; null when they hide it.",
  })
  groupId!: string | null;

  @Field(() => GraphQLJSON, {
    description: "The account's traits; the access policy's traits rules apply to them under account.<key>, its consent rules under traits.account.<key>.",
  })
  traits!: Record<string, unknown>;
}

@ObjectType({ description: 'Everything known about one customer, joined from Segment and Twilio.' })
export class CustomerContext {
  @Field(() => ID, { nullable: true, description: 'Segment profile id (use_...); null when Segment has no profile.' })
  profileId!: string | null;

  @Field(() => ExternalId, { nullable: true, description: 'The identifier that found the profile.' })
  resolvedBy!: ExternalId | null;

  @Field(() => [ExternalId])
  externalIds!: ExternalId[];

  @Field(() => GraphQLJSON)
  traits!: Record<string, unknown>;

  @Field(() => [TraitDetail], { description: 'The traits with their source and last update; the same read as traits.' })
  traitDetails!: TraitDetail[];

  @Field(() => Account, { nullable: true, description: 'The first account the customer is linked to; null when none (a failed read shows in freshness).' })
  account!: Account | null;

  @Field(() => [Account], { description: "Every linked account (at most 20), in Segment's order." })
  accounts!: Account[];

  @Field(() => [String])
  audiences!: string[];

  @Field(() => EventConnection)
  events!: EventConnection;

  @Field(() => ConversationConnection)
  conversations!: ConversationConnection;

  @Field(() => [JourneyEntry])
  journey!: JourneyEntry[];

  @Field(() => CustomerSignals)
  signals!: CustomerSignals;

  @Field(() => WrapUpNote, {
    nullable: true,
    description: 'The latest Agent Copilot wrap-up note: what the last agent wrote, so the next one need not ask again.',
  })
  latestNote!: WrapUpNote | null;

  @Field(() => Freshness)
  freshness!: Freshness;
}
