import { Args, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { AppConfig } from '../config/config';
import type { ConversationSummary } from '../conversations/conversation.types';
import { messageAuthor } from '../identity/identity';
import type { ProfileEvent } from '../profiles/profile.types';
import { latestNote, type WrapUpNote as KeptNote } from '../changes/wrap-up-note';
import { consentedEvent } from '../consent/consent';
import { ConsentService } from '../consent/consent.service';
import { checkFirst, toConnection } from '../common/connection';
import { filterTraitDetails } from '../profiles/trait-details';
import {
  Account,
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
  TraitDetail,
  WrapUpNote,
} from './customer-context.model';
import { CustomerContextService, CustomerRoot, type CustomerPart } from './customer-context.service';
import { CustomerLookupInput } from './dto/customer-lookup.input';
import { RoutingReads } from './routing-reads';
import { selectedFields } from './selection';
import { mergeJourney } from './signals';

/** A conversation as handed to its field resolvers: the model plus the request's customer and their address in it. */
type ConversationParent = Conversation & { root: CustomerRoot; address: string | null };

const toEvent = (e: ProfileEvent): Event => ({ ...e, occurredAt: new Date(e.occurredAt) });
const toWrapUpNote = (n: KeptNote): WrapUpNote => ({ ...n, createdAt: new Date(n.createdAt), updatedAt: new Date(n.updatedAt) });
const toConversation =
  (root: CustomerRoot) =>
  (c: ConversationSummary): ConversationParent => ({
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
    private readonly routing: RoutingReads,
    private readonly consent: ConsentService,
  ) {}

  @Query(() => CustomerContext, { nullable: true, description: 'Null when neither Segment nor Twilio knows the customer.' })
  async customerContext(@Args('lookup') lookup: CustomerLookupInput, @Info() info: GraphQLResolveInfo): Promise<CustomerRoot | null> {
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
    if (!root) return root;
    const parts = partsFor(selectedFields(info), this.routing.readsAccount());
    this.prefetch(root, parts);
    // A refresh reads the selected parts again (forceFresh) and drops the others' cached copies
    // everywhere: no instance answers a part from before the refresh.
    if (fresh) await this.contexts.forgetParts(root, new Set(ALL_PARTS.filter((part) => !parts.has(part))));
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
  async traits(@Parent() root: CustomerRoot): Promise<Record<string, unknown>> {
    const [traits, consent] = await Promise.all([this.contexts.traits(root), this.consentOf(root)]);
    return consent.filter('traits', traits);
  }

  @ResolveField(() => [TraitDetail])
  async traitDetails(@Parent() root: CustomerRoot): Promise<TraitDetail[]> {
    const [details, consent] = await Promise.all([this.contexts.traitDetails(root), this.consentOf(root)]);
    return filterTraitDetails(details, (traits) => consent.filter('traits', traits)).map((d) => ({
      ...d,
      updatedAt: d.updatedAt ? new Date(d.updatedAt) : null,
    }));
  }

  @ResolveField(() => Account, { nullable: true })
  async account(@Parent() root: CustomerRoot): Promise<Account | null> {
    return (await this.consentedAccounts(root))[0] ?? null;
  }

  @ResolveField(() => [Account])
  accounts(@Parent() root: CustomerRoot): Promise<Account[]> {
    return this.consentedAccounts(root);
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
    const [events, consent] = await Promise.all([this.contexts.events(root), this.consentOf(root)]);
    return toConnection(events, first, after, (e) => toEvent(consentedEvent(consent, e)));
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
    checkFirst('first', first);
    const [events, conversations, insights, notes, consent] = await Promise.all([
      this.contexts.events(root),
      this.contexts.conversationsOf(root),
      this.contexts.insights(root),
      this.contexts.notes(root),
      this.consentOf(root),
    ]);
    return mergeJourney(events, conversations, first, insights, notes).map((item) => ({
      kind: item.kind,
      at: new Date(item.at),
      title: item.event
        ? (item.event.name ?? item.event.type)
        : item.insight
          ? `${item.insight.operator}${item.insight.label ? ` · ${item.insight.label}` : ''}`
          : item.note
            ? `Wrap-up note${item.note.sentiment ? ` · ${item.note.sentiment}` : ''}`
            : `${item.conversation?.channel ?? 'conversation'} · ${item.conversation?.state}`,
      event: item.event ? toEvent(consentedEvent(consent, item.event)) : null,
      conversation: item.conversation ? toConversation(root)(item.conversation) : null,
      insight: item.insight ? { ...item.insight, at: new Date(item.insight.at) } : null,
      note: item.note ? toWrapUpNote(item.note) : null,
    }));
  }

  @ResolveField(() => WrapUpNote, { nullable: true })
  async latestNote(@Parent() root: CustomerRoot): Promise<WrapUpNote | null> {
    const latest = latestNote(await this.contexts.notes(root));
    return latest ? toWrapUpNote(latest) : null;
  }

  @ResolveField(() => CustomerSignals)
  async signals(@Parent() root: CustomerRoot): Promise<CustomerSignals> {
    const signals = await this.contexts.signals(root);
    return {
      ...signals,
      lastSeenAt: signals.lastSeenAt ? new Date(signals.lastSeenAt) : null,
      lastPurchaseAt: signals.lastPurchaseAt ? new Date(signals.lastPurchaseAt) : null,
      lastSentimentAt: signals.lastSentimentAt ? new Date(signals.lastSentimentAt) : null,
      lastNoteAt: signals.lastNoteAt ? new Date(signals.lastNoteAt) : null,
    };
  }

  @ResolveField(() => Freshness)
  async freshness(@Parent() root: CustomerRoot): Promise<Freshness> {
    // Every read this request starts for the customer, those of sibling and nested fields included
    // (context/read-barrier.ts).
    await root.settled();
    const sources = [...root.sources.values()].map((s) => ({ ...s, fetchedAt: s.fetchedAt ? new Date(s.fetchedAt) : null }));
    return { stale: sources.some((s) => s.stale || s.error), sources };
  }

  /** The customer's accounts, each with the traits the customer's consent lets through (`traits.account.<key>`). */
  private async consentedAccounts(root: CustomerRoot): Promise<Account[]> {
    const [accounts, consent] = await Promise.all([this.contexts.accounts(root), this.consentOf(root)]);
    return consent.restricts ? accounts.map((a) => ({ ...a, traits: consent.accountTraits(a.traits) })) : accounts;
  }

  /** The customer's consent (read only when the access policy has consent rules). */
  private consentOf(root: CustomerRoot) {
    return this.consent.view(
      root,
      () => this.contexts.events(root),
      () => this.contexts.insights(root),
    );
  }

  private prefetch(root: CustomerRoot, parts: ReadonlySet<CustomerPart>): void {
    const swallow = (p: Promise<unknown>) => void p.catch(() => undefined);
    if (parts.has('traits')) swallow(this.contexts.traits(root));
    if (parts.has('audiences')) swallow(this.contexts.audiences(root));
    if (parts.has('events')) swallow(this.contexts.events(root));
    if (parts.has('conversations')) swallow(this.contexts.conversationsOf(root));
    if (parts.has('accounts')) swallow(this.contexts.accounts(root));
  }
}

const ALL_PARTS: CustomerPart[] = ['traits', 'audiences', 'events', 'conversations', 'accounts'];

/** The parts the selected fields read (routing/ serves `routing`); accounts for routing only when a rule names `account`. */
function partsFor(fields: Set<string>, rulesReadAccount: boolean): Set<CustomerPart> {
  const parts = new Set<CustomerPart>();
  if (fields.has('traits') || fields.has('traitDetails') || fields.has('routing') || fields.has('signals')) parts.add('traits');
  if (fields.has('account') || fields.has('accounts') || (fields.has('routing') && rulesReadAccount)) parts.add('accounts');
  if (fields.has('audiences') || fields.has('routing')) parts.add('audiences');
  if (fields.has('events') || fields.has('journey') || fields.has('signals') || fields.has('routing')) parts.add('events');
  if (fields.has('conversations') || fields.has('journey') || fields.has('signals') || fields.has('routing')) parts.add('conversations');
  return parts;
}

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(
    private readonly contexts: CustomerContextService,
    private readonly config: AppConfig,
  ) {}

  @ResolveField(() => [Message])
  async messages(
    @Parent() conversation: ConversationParent,
    @Args('last', { type: () => Int, nullable: true, defaultValue: 20 }) last: number,
  ): Promise<Message[]> {
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
