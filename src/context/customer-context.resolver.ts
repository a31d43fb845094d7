import { Args, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { AppConfig } from '../config/config';
import type { ConversationSummary } from '../conversations/conversation.types';
import { messageAuthor } from '../identity/identity';
import type { ProfileEvent } from '../profiles/profile.types';
import { RoutingDecision } from '../routing/routing-decision.model';
import { incompleteDataReason, RoutingService } from '../routing/routing.service';
import { checkFirst, MAX_PAGE_SIZE, toConnection } from './connection';
import {
  Conversation,
  ConversationConnection,
  CustomerContext,
  CustomerSignals,
  Event,
  EventConnection,
  ExternalId,
  Freshness,
  JourneyEntry,
  Message,
} from './customer-context.model';
import { CustomerContextService, CustomerRoot } from './customer-context.service';
import { CustomerLookupInput } from './dto/customer-lookup.input';
import { selectedFields } from './selection';
import { mergeJourney } from './signals';

/** A conversation as handed to its field resolvers: the model plus the request's customer and their address in it. */
type ConversationParent = Conversation & { root: CustomerRoot; address: string | null };

const toEvent = (e: ProfileEvent): Event => ({ ...e, occurredAt: new Date(e.occurredAt) });
const toConversation = (root: CustomerRoot) => (c: ConversationSummary): ConversationParent => ({
  sid: c.sid,
  channel: c.channel,
  state: c.state,
  createdAt: new Date(c.createdAt),
  updatedAt: c.updatedAt ? new Date(c.updatedAt) : null,
  friendlyName: c.friendlyName,
  root,
  address: c.address,
});

@Resolver(() => CustomerContext)
export class CustomerContextResolver {
  constructor(
    private readonly contexts: CustomerContextService,
    private readonly router: RoutingService,
  ) {}

  @Query(() => CustomerContext, { nullable: true, description: 'Null when neither Segment nor Twilio knows the customer.' })
  async customerContext(
    @Args('lookup') lookup: CustomerLookupInput,
    @Info() info: GraphQLResolveInfo,
  ): Promise<CustomerRoot | null> {
    return this.answer(lookup, info, false);
  }

  @Mutation(() => CustomerContext, {
    nullable: true,
    description: 'Reads the customer again from Segment and Twilio. A source that fails keeps the last value read, marked stale, with the error.',
  })
  async refreshCustomerContext(@Args('lookup') lookup: CustomerLookupInput, @Info() info: GraphQLResolveInfo): Promise<CustomerRoot | null> {
    return this.answer(lookup, info, true);
  }

  private async answer(lookup: CustomerLookupInput, info: GraphQLResolveInfo, fresh: boolean): Promise<CustomerRoot | null> {
    const root = await this.contexts.resolve(lookup, { fresh });
    // Start every selected upstream read now so they run in parallel, not field by field. The view
    // is tracked after the answer, by the request pipeline.
    if (root) this.prefetch(root, selectedFields(info));
    return root;
  }

  @ResolveField(() => ID, { nullable: true })
  profileId(@Parent() root: CustomerRoot): string | null {
    return root.profileKey;
  }

  @ResolveField(() => ExternalId, { nullable: true })
  resolvedBy(@Parent() root: CustomerRoot): ExternalId | null {
    return root.resolvedBy;
  }

  @ResolveField(() => [ExternalId])
  externalIds(@Parent() root: CustomerRoot): ExternalId[] {
    return root.externalIds;
  }

  @ResolveField(() => GraphQLJSON)
  traits(@Parent() root: CustomerRoot): Promise<Record<string, unknown>> {
    return this.contexts.traits(root);
  }

  @ResolveField(() => [String])
  audiences(@Parent() root: CustomerRoot): Promise<string[]> {
    return this.contexts.audiences(root);
  }

  @ResolveField(() => EventConnection)
  async events(
    @Parent() root: CustomerRoot,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after?: string | null,
  ): Promise<EventConnection> {
    checkFirst('first', first);
    return toConnection(await this.contexts.events(root), first, after, toEvent);
  }

  @ResolveField(() => ConversationConnection)
  async conversations(
    @Parent() root: CustomerRoot,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 10 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after?: string | null,
  ): Promise<ConversationConnection> {
    checkFirst('first', first);
    return toConnection(await this.contexts.conversationsOf(root), first, after, toConversation(root));
  }

  @ResolveField(() => [JourneyEntry])
  async journey(@Parent() root: CustomerRoot, @Args('first', { type: () => Int, nullable: true, defaultValue: 50 }) first: number): Promise<JourneyEntry[]> {
    checkFirst('first', first, MAX_PAGE_SIZE);
    const [events, conversations, insights] = await Promise.all([this.contexts.events(root), this.contexts.conversationsOf(root), this.contexts.insights(root)]);
    return mergeJourney(events, conversations, first, insights).map((item) => ({
      kind: item.kind,
      at: new Date(item.at),
      title: item.event
        ? (item.event.name ?? item.event.type)
        : item.insight
          ? `${item.insight.operator}${item.insight.label ? ` · ${item.insight.label}` : ''}`
          : `${item.conversation?.channel ?? 'conversation'} · ${item.conversation?.state}`,
      event: item.event ? toEvent(item.event) : null,
      conversation: item.conversation ? toConversation(root)(item.conversation) : null,
      insight: item.insight ? { ...item.insight, at: new Date(item.insight.at) } : null,
    }));
  }

  @ResolveField(() => CustomerSignals)
  async signals(@Parent() root: CustomerRoot): Promise<CustomerSignals> {
    const signals = await this.contexts.signals(root);
    return {
      ...signals,
      lastSeenAt: signals.lastSeenAt ? new Date(signals.lastSeenAt) : null,
      lastPurchaseAt: signals.lastPurchaseAt ? new Date(signals.lastPurchaseAt) : null,
      lastSentimentAt: signals.lastSentimentAt ? new Date(signals.lastSentimentAt) : null,
    };
  }

  @ResolveField(() => RoutingDecision)
  async routing(@Parent() root: CustomerRoot): Promise<RoutingDecision> {
    const [traits, audiences, signals] = await Promise.all([this.contexts.traits(root), this.contexts.audiences(root), this.contexts.signals(root)]);
    // Decided on less than usual when a source failed: the decision says so, as a stamped task's does.
    return this.router.decide({ traits, audiences, signals, task: root.task?.attributes ?? {} }, incompleteDataReason(root.failures()));
  }

  @ResolveField(() => Freshness)
  async freshness(@Parent() root: CustomerRoot): Promise<Freshness> {
    // Wait for every read this request started, including ones nested fields start later.
    let seen = -1;
    while (seen !== root.memo.size) {
      seen = root.memo.size;
      await Promise.allSettled(root.memo.values());
      await new Promise((resolve) => setImmediate(resolve));
    }
    const sources = [...root.sources.values()].map((s) => ({ ...s, fetchedAt: s.fetchedAt ? new Date(s.fetchedAt) : null }));
    return { stale: sources.some((s) => s.stale || s.error), sources };
  }

  private prefetch(root: CustomerRoot, fields: Set<string>): void {
    const swallow = (p: Promise<unknown>) => void p.catch(() => undefined);
    if (fields.has('traits') || fields.has('routing') || fields.has('signals')) swallow(this.contexts.traits(root));
    if (fields.has('audiences') || fields.has('routing')) swallow(this.contexts.audiences(root));
    if (fields.has('events') || fields.has('journey') || fields.has('signals') || fields.has('routing')) swallow(this.contexts.events(root));
    if (fields.has('conversations') || fields.has('journey') || fields.has('signals') || fields.has('routing')) swallow(this.contexts.conversationsOf(root));
  }
}

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(
    private readonly contexts: CustomerContextService,
    private readonly config: AppConfig,
  ) {}

  @ResolveField(() => [Message])
  async messages(@Parent() conversation: ConversationParent, @Args('last', { type: () => Int, nullable: true, defaultValue: 20 }) last: number): Promise<Message[]> {
    checkFirst('last', last);
    const messages = await this.contexts.messages(conversation.root, conversation.sid, last);
    const region = this.config.identity.defaultPhoneRegion;
    return messages.map((m) => ({
      sid: m.sid,
      author: m.author,
      ...messageAuthor(m.author, conversation.address, region),
      body: m.body,
      createdAt: new Date(m.createdAt),
    }));
  }
}
