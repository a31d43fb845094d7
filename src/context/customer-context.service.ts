import { Injectable } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { callThenSettle } from '../common/settled';
import { CacheService, type Cached } from '../cache/cache.service';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig, type CachePolicy } from '../config/config';
import { ConversationSource } from '../conversations/conversation.source';
import type { ConversationMessage, ConversationSummary } from '../conversations/conversation.types';
import { addressesFor, lookupFromTaskAttributes, normalizeLookup, unique, type LookupInput } from '../identity/identity';
import { PendingChanges } from '../changes/pending-changes';
import { profileIdentifier } from '../profiles/profile-identifier';
import { ProfileSource } from '../profiles/profile.source';
import type { ExternalId, ProfileEvent, ProfileTraits, ResolvedProfile, Traits } from '../profiles/profile.types';
import { traitDetailsOf, type TraitDetail } from '../profiles/trait-details';
import { TaskSource, type TaskSnapshot } from '../tasks/task.source';
import type { WrapUpNote } from '../changes/wrap-up-note';
import { MAX_INSIGHTS } from '../changes/insight';
import type { Insight } from '../changes/insight';
import { KeptRecords, type KeptKind } from '../changes/kept-records';
import { deriveSignals, type Signals } from './signals';
import { IdentifierDigest } from '../common/identifier-digest';

export interface SourceState {
  source: string;
  fetchedAt: number | null;
  stale: boolean;
  error: string | null;
}

/** The cache keys a request's answer was built from, and when the first of them goes stale. */
export class ReadTrail {
  readonly keys = new Set<string>();
  expiresAt = Number.POSITIVE_INFINITY;

  add(key: string, expiresAt: number | null): void {
    this.keys.add(key);
    // A failed read (no expiry) makes the answer one not worth keeping: it expires now.
    this.expiresAt = Math.min(this.expiresAt, expiresAt ?? 0);
  }
}

/**
 * One customer as resolved for one request. It memoises every upstream read it makes, so each
 * resource is read once per request however many fields need it, and records how fresh each
 * source was for `freshness`.
 */
/** The parts of a customer read apart from its resolution, each from its own cache key(s). */
export type CustomerPart = 'traits' | 'audiences' | 'events' | 'conversations' | 'accounts';

/** An account (Segment's `accounts` collection) the customer is linked to, with its traits. */
export interface CustomerAccount {
  groupId: string;
  traits: Traits;
}

const NO_TRAITS: ProfileTraits = { traits: {}, origins: {} };

export class CustomerRoot {
  readonly memo = new Map<string, Promise<unknown>>();
  /** Reads in flight, and resolvers under this customer still running (`hold`). */
  private pending = 0;
  /** Waiting for `pending` to reach zero (`settled`). */
  private idle: Array<() => void> = [];
  readonly sources = new Map<string, SourceState>();
  /** The documented `type:value` identifier Profile API requests name this profile by (never `use_…`). */
  readonly identifier: ExternalId | null;
  /** A forced refresh: every read goes upstream, and one that fails keeps the last good value. */
  fresh = false;

  constructor(
    readonly profileKey: string | null,
    readonly resolvedBy: ExternalId | null,
    readonly externalIds: ExternalId[],
    readonly addresses: string[],
    /** The task the lookup came through, if any (its attributes feed routing). */
    readonly task: TaskSnapshot | null,
    /** Every cache key read for this customer, resolution included. */
    readonly trail = new ReadTrail(),
  ) {
    this.identifier = profileKey ? profileIdentifier(resolvedBy, externalIds) : null;
  }

  /** Reads `key` once per request: every field that needs it shares the read. */
  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let pending = this.memo.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = callThenSettle(load, this.hold());
      this.memo.set(key, pending);
    }
    return pending;
  }

  /**
   * Keeps `settled` waiting until the returned release is called (once; later calls do nothing).
   * Reads hold from when they start until they settle; the resolvers of fields under this customer
   * hold while they run (read-barrier.ts), so a read they start later is waited for too.
   */
  hold(): () => void {
    this.pending++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.pending > 0) return;
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    };
  }

  /**
   * Resolves once every read this request started for this customer has settled and every
   * resolver under it has returned. Looked at after the current synchronous pass of the GraphQL
   * engine, which invokes all fields of an object in one pass: a sibling field placed after the
   * one asking is holding by then.
   */
  settled(): Promise<void> {
    return new Promise<void>((resolve) =>
      queueMicrotask(() => {
        if (this.pending === 0) resolve();
        else this.idle.push(resolve);
      }),
    );
  }

  record(source: string, state: Omit<SourceState, 'source'>): void {
    const previous = this.sources.get(source);
    // Several reads feed one source (one per address, one per conversation): keep the worst, and
    // a read that brought nothing (fetchedAt null) makes the source partly missing.
    this.sources.set(source, {
      source,
      fetchedAt: state.fetchedAt === null || previous?.fetchedAt === null ? null : Math.min(previous?.fetchedAt ?? state.fetchedAt, state.fetchedAt),
      stale: Boolean(previous?.stale || state.stale),
      error: state.error ?? previous?.error ?? null,
    });
  }

  /** `source ERROR_CODE` for each source that failed: a decision on this customer rests on less than usual. */
  failures(): string[] {
    return [...this.sources.values()].filter((s) => s.error).map((s) => `${s.source} ${s.error}`);
  }
}

/** Joins Segment profiles with Twilio conversation history, through the cache. */
@Injectable()
export class CustomerContextService {
  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly profiles: ProfileSource,
    private readonly conversations: ConversationSource,
    private readonly tasks: TaskSource,
    private readonly pending: PendingChanges,
    private readonly ids: IdentifierDigest,
    private readonly kept: KeptRecords,
  ) {}

  /**
   * Finds the customer a lookup names. Null when neither Segment nor Twilio knows them; a root
   * without a profile when only Twilio does, or when Segment could not be asked. With `fresh`
   * (refreshCustomerContext) every read, this one's and the root's, goes upstream again; a read
   * that fails keeps the value the agent saw last, marked stale, with the error.
   */
  async resolve(input: LookupInput, { fresh = false }: { fresh?: boolean } = {}): Promise<CustomerRoot | null> {
    const failures: Array<[string, string]> = [];
    const trail = new ReadTrail();
    let lookup: LookupInput = { ...input };
    let task: TaskSnapshot | null = null;
    if (input.taskSid) {
      const loaded = await this.read(
        'twilio.task',
        cacheKeys.task(input.taskSid),
        this.config.cache.task,
        () => this.tasks.task(input.taskSid as string),
        trail,
        { fresh },
      );
      if (loaded.error) failures.push(['twilio.task', loaded.error]);
      task = loaded.value ?? null;
      if (task) lookup = mergeLookup(lookup, lookupFromTaskAttributes(task.attributes));
    }
    const identifiers = normalizeLookup(lookup, { region: this.config.identity.defaultPhoneRegion, phoneIdType: this.config.segment.phoneIdType });
    if (lookup.conversationSid && identifiers.candidates.length === 0 && identifiers.addresses.length === 0) {
      const sid = lookup.conversationSid;
      const loaded = await this.read(
        'twilio.conversations',
        cacheKeys.conversationCustomer(sid),
        this.config.cache.externalIds,
        () => this.conversations.customerAddress(sid),
        trail,
        { fresh },
      );
      if (loaded.error) failures.push(['twilio.conversations', loaded.error]);
      if (loaded.value) {
        lookup = mergeLookup(lookup, { address: loaded.value });
        Object.assign(identifiers, normalizeLookup(lookup, { region: this.config.identity.defaultPhoneRegion, phoneIdType: this.config.segment.phoneIdType }));
      }
    }

    let profile: ResolvedProfile | null = null;
    let resolvedBy: ExternalId | null = null;
    for (const candidate of identifiers.candidates) {
      const found = await this.read(
        'segment.profile',
        cacheKeys.resolution(this.ids, candidate.type, candidate.id),
        this.config.cache.resolution,
        async () => {
          const resolved = await this.profiles.resolve({ type: candidate.type, id: candidate.id });
          // Fetched just now: remembered under its other identifiers too, once, by whoever fetched it.
          if (resolved) void this.rememberIdentifiers(resolved, candidate);
          return resolved;
        },
        trail,
        { fresh, policyFor: (value) => (value ? this.config.cache.resolution : this.config.cache.negative) },
      );
      // A resolution kept from before a failed refresh still names the customer.
      if (found.error) failures.push(['segment.profile', found.error]);
      if (found.value) {
        profile = found.value;
        resolvedBy = { type: candidate.type, id: candidate.id };
        break;
      }
    }

    const phones = profile?.externalIds.filter((e) => e.type === this.config.segment.phoneIdType).map((e) => e.id) ?? [];
    const emails = profile?.externalIds.filter((e) => e.type === 'email').map((e) => e.id) ?? [];
    const addresses = unique([...identifiers.addresses, ...addressesFor({ phones, emails })]);
    const root = new CustomerRoot(profile?.profileId ?? null, resolvedBy, profile?.externalIds ?? [], addresses, task, trail);
    root.fresh = fresh;
    for (const [source, error] of failures) root.record(source, { fetchedAt: null, stale: true, error });
    if (profile || failures.length > 0) return root;
    if (addresses.length === 0) return null;
    // Known to Twilio only? Their conversations decide.
    const conversations = await this.conversationsOf(root);
    return conversations.length > 0 || root.sources.get('twilio.conversations')?.error ? root : null;
  }

  /**
   * The customer's Segment profile for a webhook that keeps something under it: null only when
   * nobody has one. When a read on the way failed (the task, the conversation, the Profile API), who
   * the customer is stays unknown, and that is an error (UPSTREAM_UNAVAILABLE), so that the sender
   * retries rather than hears that nobody was found and drops its record.
   */
  async resolveProfile(input: LookupInput): Promise<CustomerRoot | null> {
    const root = await this.resolve(input);
    if (root?.profileKey) return root;
    const failed = root?.failures() ?? [];
    // Source names and error codes only: no identifier of the customer.
    if (failed.length > 0) throw new DomainError(ErrorCode.UPSTREAM_UNAVAILABLE, `The customer could not be resolved: ${failed.join(', ')}`);
    return null;
  }

  /**
   * A profile just found by one identifier is remembered under all of its identifiers, so a
   * lookup (or a webhook) by another one needs no Profile API call.
   */
  private async rememberIdentifiers(profile: ResolvedProfile, foundBy: ExternalId): Promise<void> {
    const types = new Set(['user_id', 'email', 'anonymous_id', this.config.segment.phoneIdType]);
    await Promise.all(
      profile.externalIds
        .filter((e) => types.has(e.type) && !(e.type === foundBy.type && e.id === foundBy.id))
        .map((e) => this.cache.put(this.resolutionKey(e), profile, this.config.cache.resolution.ttlMs).catch(() => undefined)),
    );
  }

  traits(root: CustomerRoot): Promise<Traits> {
    return this.profileTraits(root).then((profile) => profile.traits);
  }

  /** The traits with where each came from: the same one read as `traits`, never a second call. */
  async traitDetails(root: CustomerRoot): Promise<TraitDetail[]> {
    return traitDetailsOf(await this.profileTraits(root), Date.now(), this.config.traits.staleAfterMs);
  }

  /** Traits and their origins (one verbose `/traits` read), with webhook news on top. */
  profileTraits(root: CustomerRoot): Promise<ProfileTraits> {
    const key = root.profileKey;
    if (!key) return Promise.resolve(NO_TRAITS);
    return root.once('traits', async () => {
      const { value, fetchedAt } = await this.readProfile(root, 'segment.traits', cacheKeys.traits(key), this.config.cache.traits, (id) =>
        this.profiles.traits(id),
      );
      return this.pending.traits(key, value ?? NO_TRAITS, fetchedAt ?? 0);
    });
  }

  /**
   * The accounts linked to the customer, each with its traits: one `/links` read, then one
   * `/traits` read per account (each its own cache entry, shared by the account's users). A read
   * that fails is its source's error in `freshness` (`segment.accounts`, `segment.account_traits`),
   * never "no account": an account whose traits could not be read is listed with none.
   */
  accounts(root: CustomerRoot): Promise<CustomerAccount[]> {
    const key = root.profileKey;
    if (!key) return Promise.resolve([]);
    return root.once('accounts', async () => {
      const { value } = await this.readProfile(root, 'segment.accounts', cacheKeys.accounts(key), this.config.cache.accounts, (id) =>
        this.profiles.accounts(id),
      );
      return Promise.all(
        (value ?? []).map(async ({ groupId }) => ({
          groupId,
          traits: await this.readInto(
            root,
            'segment.account_traits',
            cacheKeys.accountTraits(this.ids, groupId),
            this.config.cache.accounts,
            () => this.profiles.accountTraits(groupId),
            {},
          ),
        })),
      );
    });
  }

  /** Whether this request reads the customer's accounts (started by the answer's prefetch or a field). */
  accountsRead(root: CustomerRoot): boolean {
    return root.memo.has('accounts');
  }

  audiences(root: CustomerRoot): Promise<string[]> {
    const key = root.profileKey;
    if (!key) return Promise.resolve([]);
    return root.once('audiences', async () => {
      const { value } = await this.readProfile(root, 'segment.audiences', cacheKeys.audiences(key), this.config.cache.audiences, (id) =>
        this.profiles.audiences(id),
      );
      return value ?? [];
    });
  }

  /** The newest events as cached, with events webhooks delivered since merged in. */
  events(root: CustomerRoot): Promise<ProfileEvent[]> {
    const key = root.profileKey;
    if (!key) return Promise.resolve([]);
    const window = this.config.windows.events;
    return root.once('events', async () => {
      const { value } = await this.readProfile(root, 'segment.events', cacheKeys.events(key), this.config.cache.events, (id) =>
        this.profiles.events(id, window),
      );
      return this.pending.events(key, value ?? [], window);
    });
  }

  /** All of the customer's conversations across their addresses, newest activity first. */
  conversationsOf(root: CustomerRoot): Promise<ConversationSummary[]> {
    return root.once('conversations', async () => {
      const lists = await Promise.all(
        root.addresses.map((address) =>
          this.readInto(
            root,
            'twilio.conversations',
            cacheKeys.conversations(this.ids, address),
            this.config.cache.conversations,
            () => this.conversations.conversationsOf(address, this.config.windows.conversations),
            [],
          ),
        ),
      );
      const bySid = new Map<string, ConversationSummary>();
      for (const conversation of lists.flat()) if (!bySid.has(conversation.sid)) bySid.set(conversation.sid, conversation);
      return [...bySid.values()].sort((a, b) => Date.parse(b.updatedAt ?? b.createdAt) - Date.parse(a.updatedAt ?? a.createdAt));
    });
  }

  /** The latest `last` messages of a conversation, oldest first. */
  async messages(root: CustomerRoot, conversationSid: string, last: number): Promise<ConversationMessage[]> {
    const all = await root.once(`messages:${conversationSid}`, () =>
      this.readInto(
        root,
        'twilio.messages',
        cacheKeys.messages(conversationSid),
        this.config.cache.messages,
        () => this.conversations.messages(conversationSid, this.config.windows.messages),
        [],
      ),
    );
    return last === 0 ? [] : all.slice(-last);
  }

  /** The Conversational Intelligence results its webhook kept for this customer, newest first. */
  insights(root: CustomerRoot): Promise<Insight[]> {
    return this.keptOf<Insight[]>(root, 'insights', 'twilio.intelligence').then((transcripts) =>
      transcripts
        .flat()
        .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
        .slice(0, MAX_INSIGHTS),
    );
  }

  /** The Agent Copilot wrap-up notes its webhook kept for this customer, newest first. */
  notes(root: CustomerRoot): Promise<WrapUpNote[]> {
    return this.keptOf<WrapUpNote>(root, 'notes', 'twilio.copilot').then((notes) => notes.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)));
  }

  /**
   * What a webhook kept for this customer. Nothing upstream to ask: a store that cannot be read is
   * this source's error, not an empty list.
   */
  private keptOf<T>(root: CustomerRoot, kind: KeptKind, source: string): Promise<T[]> {
    const key = root.profileKey;
    if (!key) return Promise.resolve([]);
    return root.once(kind, async () => {
      const storeKey = cacheKeys[kind](key);
      try {
        const kept = await this.kept.read<T>(kind, key);
        root.trail.add(storeKey, Number.POSITIVE_INFINITY);
        return kept;
      } catch {
        root.trail.add(storeKey, null);
        root.record(source, { fetchedAt: null, stale: true, error: ErrorCode.UPSTREAM_UNAVAILABLE });
        return [];
      }
    });
  }

  signals(root: CustomerRoot): Promise<Signals> {
    return root.once('signals', async () => {
      const [events, conversations, traits, insights, notes] = await Promise.all([
        this.events(root),
        this.conversationsOf(root),
        this.traits(root),
        this.insights(root),
        this.notes(root),
      ]);
      return deriveSignals({ events, conversations, traits, insights, notes });
    });
  }

  /**
   * A read of the root's Segment profile, by its documented identifier. When Segment no longer
   * knows the profile (merged or deleted since it was resolved), the read is an error of its
   * source, nothing is cached, and the profile's cached resolutions are dropped so the next
   * lookup resolves again.
   */
  private async readProfile<T>(root: CustomerRoot, source: string, key: string, policy: CachePolicy, load: (id: ExternalId) => Promise<T>) {
    const id = root.identifier;
    const result = await this.readRecorded(root, source, key, policy, () =>
      id ? load(id) : Promise.reject(new DomainError(ErrorCode.PROFILE_NOT_FOUND, 'The profile has no identifier to read it by')),
    );
    if (result.error === ErrorCode.PROFILE_NOT_FOUND) await root.once('unresolve', () => this.forgetResolutions(root));
    return result;
  }

  /** The cache key of one identifier's resolution (emails compare lower-cased). */
  private resolutionKey(id: ExternalId): string {
    return cacheKeys.resolution(this.ids, id.type, id.type === 'email' ? id.id.toLowerCase() : id.id);
  }

  /**
   * A refresh reads again only the parts its selection needs; it drops the cached copy of the
   * others, here and (through the bus) on every instance, so the next read of them goes upstream.
   */
  async forgetParts(root: CustomerRoot, parts: ReadonlySet<CustomerPart>): Promise<void> {
    const key = root.profileKey;
    const keys = [
      ...(key && parts.has('traits') ? [cacheKeys.traits(key)] : []),
      ...(key && parts.has('audiences') ? [cacheKeys.audiences(key)] : []),
      ...(key && parts.has('events') ? [cacheKeys.events(key)] : []),
      ...(key && parts.has('accounts') ? [cacheKeys.accounts(key)] : []),
      ...(parts.has('conversations') ? root.addresses.map((address) => cacheKeys.conversations(this.ids, address)) : []),
    ];
    await this.cache.delete(keys).catch(() => undefined);
  }

  /** Drops every cached resolution that leads to this root's profile. */
  private async forgetResolutions(root: CustomerRoot): Promise<void> {
    const ids = [...root.externalIds, ...(root.resolvedBy ? [root.resolvedBy] : [])];
    const keys = unique(ids.map((id) => this.resolutionKey(id)));
    await this.cache.delete(keys).catch(() => undefined);
  }

  /** A cached read whose failure is recorded on the root and answered with `fallback`. */
  private async readInto<T>(root: CustomerRoot, source: string, key: string, policy: CachePolicy, load: () => Promise<T | null>, fallback: T): Promise<T> {
    return (await this.readRecorded(root, source, key, policy, load)).value ?? fallback;
  }

  /** A cached read whose freshness (or failure) is recorded on the root. */
  private async readRecorded<T>(root: CustomerRoot, source: string, key: string, policy: CachePolicy, load: () => Promise<T | null>) {
    const result = await this.read(source, key, policy, load, root.trail, { fresh: root.fresh });
    root.record(source, { fetchedAt: result.fetchedAt, stale: result.stale, error: result.error });
    return result;
  }

  private async read<T>(
    source: string,
    key: string,
    policy: CachePolicy,
    load: () => Promise<T>,
    trail: ReadTrail,
    { fresh = false, policyFor }: { fresh?: boolean; policyFor?: (value: T) => CachePolicy } = {},
  ): Promise<{ value: T | null; fetchedAt: number | null; stale: boolean; error: string | null }> {
    try {
      const cached: Cached<T> = await this.cache.getOrSet(key, policy, load, { policyFor, forceFresh: fresh });
      trail.add(key, cached.stale || cached.error ? null : cached.expiresAt);
      return { value: cached.value, fetchedAt: cached.fetchedAt, stale: cached.stale, error: cached.error };
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'INTERNAL';
      trail.add(key, null);
      return { value: null, fetchedAt: null, stale: true, error: code };
    }
  }
}

/** Where an identifier's resolution is cached (emails as lookups normalise them: lower-cased). */

/** Fills what the caller did not give from what the task or conversation carries. */
function mergeLookup(given: LookupInput, found: LookupInput): LookupInput {
  const merged: LookupInput = { ...given };
  for (const [key, value] of Object.entries(found) as Array<[keyof LookupInput, string | null | undefined]>) {
    if (value && !merged[key]) merged[key] = value;
  }
  return merged;
}
