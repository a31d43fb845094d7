import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors';
import { currentPriority } from '../common/priority';
import { AppConfig } from '../config/config';
import { preferencesOf } from './consent-preferences';
import { upstreamErrorFor, upstreamPolicy, type UpstreamPolicy } from '../upstream/upstream-policy';
import { ProfileApiBudget } from '../upstream/profile-api-budget';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import { identifierPath } from './profile-identifier';
import { ProfileSource } from './profile.source';
import type { ExternalId, LinkedAccount, ProfileEvent, ProfileTraits, ResolvedProfile, TraitOrigin, Traits } from './profile.types';

interface Cursor {
  url?: string;
  has_more?: boolean;
  next?: string;
}
interface TraitsPage {
  traits?: Record<string, unknown>;
  cursor?: Cursor;
}
interface ListPage<T> {
  data?: T[];
  cursor?: Cursor;
}
interface ExternalIdWire {
  type: string;
  id: string;
  collection?: string;
}
/** One `/links` item: the linked profile's collection and its external ids. */
interface LinkWire {
  to_collection?: string;
  external_ids?: ExternalIdWire[];
}
interface EventWire {
  type?: string;
  event?: string;
  message_id?: string;
  timestamp?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** Segment's list routes answer at most 100 per page (the docs disagree on 200 for traits; 100 is safe in both). */
const PAGE_LIMIT = 100;
/** A profile with more pages than this is cut short rather than looping on a misbehaving cursor. */
const MAX_PAGES = 50;
/** "The return limit for the `/links` endpoint is 20 records" (profile-api.md, "Search for linked users or accounts"). */
const LINKS_LIMIT = 20;

/**
 * Segment Profile API adapter: Basic auth with the access token, documented `type:value` ids with
 * the value percent-encoded, cursor paging. A 404 `not_found` on `/external_ids` means no profile
 * has the identifier; on the reads after it, that the profile is gone (`PROFILE_NOT_FOUND`).
 */
@Injectable()
export class SegmentProfileSource extends ProfileSource {
  private readonly policy: UpstreamPolicy;
  private readonly authorization: string;
  /** `…/collections/users/profiles` and `…/collections/accounts/profiles`. */
  private readonly base: string;
  private readonly accountsBase: string;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: UpstreamMetrics,
    private readonly budget: ProfileApiBudget,
  ) {
    super();
    // Every attempt, retries included, spends one call of the space's shared budget. A token that
    // cannot come before the call's deadline fails the call at once as BUDGET_EXHAUSTED (the
    // budget is the cause, not Segment); a call past its deadline stops waiting for one.
    this.policy = upstreamPolicy({
      source: 'segment',
      timeoutMs: config.upstream.timeoutMs,
      deadlineMs: config.upstream.deadlineMs,
      retries: config.upstream.retries,
      beforeAttempt: (signal, deadlineAt) => budget.acquire(currentPriority(), { signal, until: deadlineAt }),
    });
    this.authorization = `Basic ${Buffer.from(`${config.segment.accessToken}:`).toString('base64')}`;
    const space = `${config.segment.profileApiUrl}/v1/spaces/${encodeURIComponent(config.segment.spaceId)}/collections`;
    this.base = `${space}/users/profiles`;
    this.accountsBase = `${space}/accounts/profiles`;
  }

  async resolve(id: ExternalId): Promise<ResolvedProfile | null> {
    const key = `${id.type}:${id.id}`;
    let profileId: string | undefined;
    const externalIds: ExternalId[] = [];
    const found = await this.pages<ListPage<ExternalIdWire>>(this.profilePath(id), 'external_ids', {}, (page) => {
      profileId ??= profileIdFromCursor(page.cursor);
      for (const item of page.data ?? []) {
        if (typeof item?.type === 'string' && typeof item?.id === 'string') externalIds.push({ type: item.type, id: item.id });
      }
    });
    if (!found) return null;
    // When Segment does not name the profile in its cursor, its user_id is the most stable key.
    const userId = externalIds.find((e) => e.type === 'user_id');
    return { profileId: profileId ?? (userId ? `user_id:${userId.id}` : key), externalIds };
  }

  /**
   * One read, verbose: "With `?verbose=true` enabled" each trait is `{ "value", "source_id",
   * "updated_at" }` (profile-api.md, "Get a profile's traits"), so where a trait came from costs
   * no second call. The docs show no `updated_at` value (".."); it is taken as a timestamp when it
   * parses as one, else left unknown.
   */
  async traits(id: ExternalId): Promise<ProfileTraits> {
    const traits: Traits = {};
    const origins: Record<string, TraitOrigin> = {};
    const found = await this.pages<TraitsPage>(this.profilePath(id), 'traits', { verbose: 'true' }, (page) => {
      for (const [key, entry] of Object.entries(page.traits ?? {})) {
        const { value, origin } = unwrapVerbose(entry);
        traits[key] = value;
        origins[key] = origin;
      }
    });
    if (!found) throw profileGone('traits');
    return { traits, origins };
  }

  /**
   * `GET …/users/profiles/<id>/links`: each item names a linked profile's collection and its
   * external ids; an account is the one whose ids include a `group_id` (profile-api.md, "Get a
   * profile's linked users or accounts"). The docs show no cursor on this route: at most 20.
   */
  async accounts(id: ExternalId): Promise<LinkedAccount[]> {
    const page = await this.get<ListPage<LinkWire>>(`${this.profilePath(id)}/links?limit=${LINKS_LIMIT}`, 'links');
    if (page === null) throw profileGone('links');
    const groupIds = new Set<string>();
    for (const link of page.data ?? []) {
      if (link?.to_collection !== 'accounts') continue;
      const groupId = (link.external_ids ?? []).find((e) => e?.type === 'group_id' && typeof e.id === 'string' && e.id !== '')?.id;
      if (groupId) groupIds.add(groupId);
    }
    return [...groupIds].map((groupId) => ({ groupId }));
  }

  /** `GET …/collections/accounts/profiles/group_id:<id>/traits` (profile-api.md, "Search an account profile"). */
  async accountTraits(groupId: string): Promise<Traits> {
    const traits: Traits = {};
    const path = `${this.accountsBase}/${identifierPath({ type: 'group_id', id: groupId })}`;
    const found = await this.pages<TraitsPage>(path, 'traits', {}, (page) => Object.assign(traits, page.traits ?? {}), undefined, PAGE_LIMIT, 'account_traits');
    if (!found) throw new DomainError(ErrorCode.PROFILE_NOT_FOUND, "Segment answered 404 for a linked account's traits");
    return traits;
  }

  async audiences(id: ExternalId): Promise<string[]> {
    const audiences: string[] = [];
    const found = await this.pages<TraitsPage>(this.profilePath(id), 'traits', { class: 'audience' }, (page) => {
      for (const [key, value] of Object.entries(page.traits ?? {})) if (value === true) audiences.push(key);
    });
    if (!found) throw profileGone('audiences');
    return audiences;
  }

  async events(id: ExternalId, limit: number): Promise<ProfileEvent[]> {
    const events: ProfileEvent[] = [];
    const found = await this.pages<ListPage<EventWire>>(
      this.profilePath(id),
      'events',
      { sort: 'desc' },
      (page) => {
        for (const item of page.data ?? []) {
          const event = toEvent(item);
          if (event) events.push(event);
        }
      },
      () => events.length < limit,
      Math.min(PAGE_LIMIT, limit),
    );
    if (!found) throw profileGone('events');
    return events.slice(0, limit);
  }

  /**
   * Walks a list route page by page. Returns false when Segment has no such profile.
   * `more` lets the caller stop early once it has enough.
   */
  private async pages<P extends { cursor?: Cursor }>(
    profilePath: string,
    resource: string,
    query: Record<string, string>,
    onPage: (page: P) => void,
    more: () => boolean = () => true,
    limit = PAGE_LIMIT,
    route = resource,
  ): Promise<boolean> {
    let next: string | undefined;
    for (let pageNo = 0; pageNo < MAX_PAGES; pageNo++) {
      const params = new URLSearchParams({ ...query, limit: String(limit) });
      if (next) params.set('next', next);
      const page = await this.get<P>(`${profilePath}/${resource}?${params.toString()}`, route);
      if (page === null) return false;
      onPage(page);
      if (!page.cursor?.has_more || !page.cursor.next || !more()) return true;
      next = page.cursor.next;
    }
    return true;
  }

  private profilePath(id: ExternalId): string {
    return `${this.base}/${identifierPath(id)}`;
  }

  private async get<T>(url: string, route: string): Promise<T | null> {
    return this.metrics.observe('segment', route, () =>
      this.policy.execute(async (signal) => {
        const response = await fetch(url, { headers: { authorization: this.authorization, accept: 'application/json' }, signal });
        if (response.status === 404) {
          await response.body?.cancel();
          return null;
        }
        if (!response.ok) {
          const detail = await errorDetail(response);
          const retryAfter = retryAfterMs(response.headers.get('retry-after'));
          // Segment says the space is over its limit: every instance holds off, not just this call.
          if (response.status === 429) await this.budget.pause(retryAfter ?? 1_000);
          throw upstreamErrorFor('segment', response.status, detail, retryAfter);
        }
        try {
          return (await response.json()) as T;
        } catch (error) {
          // A body that is not JSON: its parse error would quote it (profile data) into the log.
          if (signal.aborted) throw error;
          throw upstreamErrorFor('segment', 502);
        }
      }),
    );
  }
}

/** Segment no longer knows an identifier it has just resolved: the profile was merged or deleted. */
function profileGone(resource: string): DomainError {
  return new DomainError(ErrorCode.PROFILE_NOT_FOUND, `Segment answered 404 for the profile's ${resource}`);
}

/** A verbose trait entry; anything not in the documented shape is taken as a bare value of unknown origin. */
function unwrapVerbose(entry: unknown): { value: unknown; origin: TraitOrigin } {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || !('value' in entry)) {
    return { value: entry, origin: { sourceId: null, updatedAt: null } };
  }
  const { value, source_id: sourceId, updated_at: updatedAt } = entry as { value: unknown; source_id?: unknown; updated_at?: unknown };
  const at = typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN;
  return {
    value,
    origin: { sourceId: typeof sourceId === 'string' && sourceId !== '' ? sourceId : null, updatedAt: Number.isNaN(at) ? null : new Date(at).toISOString() },
  };
}

function profileIdFromCursor(cursor: Cursor | undefined): string | undefined {
  return /\/profiles\/(use_[A-Za-z0-9]+)\//.exec(cursor?.url ?? '')?.[1];
}

function toEvent(item: EventWire): ProfileEvent | null {
  if (!item || typeof item.timestamp !== 'string' || Number.isNaN(Date.parse(item.timestamp))) return null;
  const type = typeof item.type === 'string' ? item.type : 'track';
  const properties = item.properties && typeof item.properties === 'object' ? item.properties : null;
  const pageName = typeof properties?.name === 'string' ? properties.name : null;
  // Consent lives on the profile's events, not its traits (src/consent/consent.ts).
  const consent = preferencesOf(item.context);
  return {
    ...(consent ? { consent } : {}),
    id: item.message_id ?? `${type}:${item.timestamp}`,
    type,
    name: typeof item.event === 'string' ? item.event : pageName,
    occurredAt: new Date(item.timestamp).toISOString(),
    properties,
  };
}

/** Segment's `error.code` of an error body, if any (upstreamErrorFor keeps it only when it is a plain code); never its message. */
async function errorDetail(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    return typeof body?.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
