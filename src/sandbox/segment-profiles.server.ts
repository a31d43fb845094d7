import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxStore } from './data';
import { COMPUTED_TRAITS, type SandboxAccount, type SandboxCustomer, type SegmentEventWire } from './seed';
import { basicCredentials, createServiceServer, queryValue, routeConfig, type SandboxContext } from './service-server';
import { listBody, WireCache } from './wire-cache';

/**
 * Segment Profile API: `/v1/spaces/:space/collections/users/profiles/:id/:resource`, and an
 * account's traits under `collections/accounts/profiles/group_id:<id>/traits`, as documented in
 * segment-docs `src/unify/profile-api.md` (https://segment.com/docs/unify/profile-api/).
 */

type SegmentErrorCode = 'authentication_error' | 'not_found' | 'invalid_request_error' | 'validation_error' | 'rate_limit_error' | 'internal_error';

interface SegmentCursor {
  url: string;
  has_more: boolean;
  next: string;
}

interface TraitEntry {
  key: string;
  value: unknown;
  kind: 'trait' | 'computed_trait' | 'audience';
  sourceId: string;
  updatedAt: string;
}

interface ExternalIdWire {
  source_id: string;
  collection: 'users';
  id: string;
  type: string;
  created_at: string;
  encoding: 'none';
  first_message_id: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const identity = <T>(value: T): T => value;

type ProfileParams = { spaceId: string; id: string };
type ProfileRequest = FastifyRequest<{ Params: ProfileParams }>;

class BadRequest extends Error {
  constructor(
    readonly code: SegmentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_MESSAGES: Record<number, [SegmentErrorCode, string]> = {
  400: ['invalid_request_error', 'The request was invalid.'],
  401: ['authentication_error', 'Authentication failed: check the access token.'],
  404: ['not_found', 'Profile was not found.'],
  429: ['rate_limit_error', 'Rate limit exceeded: too many requests.'],
};

export function segmentError(status: number, message?: string): { error: { code: SegmentErrorCode; message: string } } {
  const [code, fallback] =
    ERROR_MESSAGES[status] ?? (status >= 500 ? ['internal_error', 'Internal server error.'] : ['invalid_request_error', 'The request was invalid.']);
  return { error: { code, message: status === 404 || status === 401 || status >= 500 ? fallback : (message ?? fallback) } };
}

export function createSegmentProfilesServer(store: SandboxStore, context: SandboxContext): FastifyInstance {
  const { world } = store;
  const app = createServiceServer({
    service: 'segment',
    context,
    errorBody: segmentError,
    authorized: (request) => basicCredentials(request)?.user === world.accessToken,
    requestId: { header: 'Request-Id', next: randomUUID },
  });
  const views = new ProfileViews(store);
  // events are immutable once seeded or added
  const eventJson = new WireCache<SegmentEventWire>();
  const base = '/v1/spaces/:spaceId/collections/users/profiles/:id';

  /** The customer the path names, or null once an error answer has been sent. */
  const resolve = (request: ProfileRequest, reply: FastifyReply): SandboxCustomer | null => {
    if (request.params.spaceId !== world.spaceId) {
      void reply.code(404).send({ error: { code: 'not_found', message: 'Space was not found.' } });
      return null;
    }
    const customer = lookup(store, rawIdentifier(request.url));
    if (!customer) void reply.code(404).send(segmentError(404));
    return customer ?? null;
  };

  /** Runs a handler, turning parameter errors into Segment's 400 body. */
  const answer = (request: ProfileRequest, reply: FastifyReply, build: (customer: SandboxCustomer) => unknown): unknown => {
    const customer = resolve(request, reply);
    if (!customer) return reply;
    try {
      return build(customer);
    } catch (error) {
      if (error instanceof BadRequest) return reply.code(400).send({ error: { code: error.code, message: error.message } });
      throw error;
    }
  };

  const cursorUrl = (customer: SandboxCustomer, resource: string): string =>
    `/v1/spaces/${world.spaceId}/collections/users/profiles/${customer.profileId}/${resource}`;

  /**
   * "Get a profile's traits": `class`, `include`, `limit` and `verbose` ("With `?verbose=true`
   * enabled" each value is `{ "value", "source_id", "updated_at" }`), paged with the cursor. The
   * same for an account ("Search an account profile": its traits, computed traits and audiences).
   */
  const traitsPage = (request: ProfileRequest, entries: TraitEntry[], url: string) => {
    const q = request.query;
    // "Traits": 10 by default; "Request arguments": `limit` is "between 1 and 100" on every list
    // route. The traits section also says "up to 200"; the two disagree, the stricter one holds.
    const limit = intParam(queryValue(q, 'limit'), 10, 1, 100);
    const traitClass = queryValue(q, 'class');
    if (traitClass !== undefined && traitClass !== 'audience' && traitClass !== 'computed_trait') {
      throw new BadRequest('validation_error', 'class must be one of: audience, computed_trait');
    }
    const include = listParam(queryValue(q, 'include'));
    const verbose = queryValue(q, 'verbose') === 'true';
    let shown = entries;
    if (traitClass || include) shown = shown.filter((e) => (!traitClass || e.kind === traitClass) && (!include || include.has(e.key)));
    const offset = decodeOffsetCursor(queryValue(q, 'next'), 'traits');
    const traits: Record<string, unknown> = {};
    for (const e of shown.slice(offset, offset + limit)) {
      traits[e.key] = verbose ? { value: e.value, source_id: e.sourceId, updated_at: e.updatedAt } : e.value;
    }
    const hasMore = offset + limit < shown.length;
    return { traits, cursor: cursor(url, hasMore, () => encodeCursor(`traits:${offset + limit}`)) };
  };

  app.get<{ Params: ProfileParams }>(`${base}/traits`, routeConfig('traits'), async (request, reply) =>
    answer(request, reply, (customer) => traitsPage(request, views.traits(customer), cursorUrl(customer, 'traits'))),
  );

  // The docs name an account by `group_id:<id>` only ("Search an account profile"); any other
  // identifier is read as the users' routes read a bare one: not found. The cursor URL of an
  // account's traits is not shown in the docs; it names the account by that identifier.
  app.get<{ Params: ProfileParams }>('/v1/spaces/:spaceId/collections/accounts/profiles/:id/traits', routeConfig('account_traits'), async (request, reply) => {
    const account =
      request.params.spaceId === world.spaceId ? accountOf(store, /\/collections\/accounts\/profiles\/([^/?#]*)/.exec(request.url)?.[1] ?? '') : undefined;
    if (!account) return reply.code(404).send(segmentError(404));
    try {
      const path = `/v1/spaces/${world.spaceId}/collections/accounts/profiles/group_id:${encodeURIComponent(account.groupId)}/traits`;
      return traitsPage(request, views.accountTraits(account), path);
    } catch (error) {
      if (error instanceof BadRequest) return reply.code(400).send({ error: { code: error.code, message: error.message } });
      throw error;
    }
  });

  app.get<{ Params: ProfileParams }>(`${base}/events`, routeConfig('events'), async (request, reply) =>
    answer(request, reply, (customer) => {
      const q = request.query;
      const limit = intParam(queryValue(q, 'limit'), 10, 1, 100);
      const sort = queryValue(q, 'sort') ?? 'desc';
      if (sort !== 'asc' && sort !== 'desc') throw new BadRequest('validation_error', 'sort must be one of: asc, desc');
      const start = isoParam(queryValue(q, 'start'), 'start');
      const end = isoParam(queryValue(q, 'end'), 'end');
      const include = listParam(queryValue(q, 'include'));
      const exclude = listParam(queryValue(q, 'exclude'));
      const next = queryValue(q, 'next');
      // Keyset cursor (the last event returned), so events added between pages do not shift it.
      const after = next ? decodeCursor(next, 'events') : null;
      const all = customer.events;
      const data: SegmentEventWire[] = [];
      let found = after === null;
      let hasMore = false;
      for (let i = 0; i < all.length; i++) {
        const event = all[sort === 'desc' ? i : all.length - 1 - i];
        if (!found) {
          found = event.message_id === after;
          continue;
        }
        if ((start && event.timestamp < start) || (end && event.timestamp > end)) continue;
        if ((include && !include.has(event.event)) || (exclude && exclude.has(event.event))) continue;
        if (data.length === limit) {
          hasMore = true;
          break;
        }
        data.push(event);
      }
      if (!found) throw new BadRequest('invalid_request_error', 'The next cursor is invalid.');
      const page = cursor(cursorUrl(customer, 'events'), hasMore, () => encodeCursor(`events:${data[data.length - 1].message_id}`));
      return reply.type(JSON_TYPE).send(
        listBody(
          'data',
          data.map((e) => eventJson.json(e, '', identity)),
          { cursor: page },
        ),
      );
    }),
  );

  app.get<{ Params: ProfileParams }>(`${base}/external_ids`, routeConfig('external_ids'), async (request, reply) =>
    answer(request, reply, (customer) => {
      const limit = intParam(queryValue(request.query, 'limit'), 10, 1, 100);
      const offset = decodeOffsetCursor(queryValue(request.query, 'next'), 'external_ids');
      const all = views.externalIds(customer);
      const hasMore = offset + limit < all.length;
      return {
        data: all.slice(offset, offset + limit),
        cursor: cursor(cursorUrl(customer, 'external_ids'), hasMore, () => encodeCursor(`external_ids:${offset + limit}`)),
      };
    }),
  );

  app.get<{ Params: ProfileParams }>(`${base}/metadata`, routeConfig('metadata'), async (request, reply) =>
    answer(request, reply, (customer) => {
      const newest = customer.events[0];
      const oldest = customer.events[customer.events.length - 1];
      const fallbackMessageId = stableUuid(`${customer.profileId}:identify`);
      return {
        metadata: {
          created_at: customer.createdAt,
          updated_at: newest?.timestamp ?? customer.createdAt,
          expires_at: null,
          first_message_id: oldest?.message_id ?? fallbackMessageId,
          first_source_id: oldest?.source_id ?? world.sources.server,
          last_message_id: newest?.message_id ?? fallbackMessageId,
          last_source_id: newest?.source_id ?? world.sources.server,
        },
      };
    }),
  );

  // "Get a profile's linked users or accounts": `{ "data": [{ "to_collection": "accounts",
  // "external_ids": [{ "id", "type": "group_id", "source_id", "collection": "accounts",
  // "created_at", "encoding": "none" }] }] }`, no cursor in the documented answer; "The return
  // limit for the `/links` endpoint is 20 records" (`?limit=20`).
  app.get<{ Params: ProfileParams }>(`${base}/links`, routeConfig('links'), async (request, reply) =>
    answer(request, reply, (customer) => {
      const limit = intParam(queryValue(request.query, 'limit'), 20, 1, 20);
      const data = customer.accounts.slice(0, limit).flatMap((groupId) => {
        const account = world.accounts.find((a) => a.groupId === groupId);
        if (!account) return [];
        const externalId = {
          id: account.groupId,
          type: 'group_id',
          source_id: world.sources.server,
          collection: 'accounts',
          created_at: account.createdAt,
          encoding: 'none',
        };
        return [{ to_collection: 'accounts', external_ids: [externalId] }];
      });
      return { data };
    }),
  );

  return app;
}

/** The identifier segment of a profile route's path, as sent (still percent-encoded). */
function rawIdentifier(url: string): string {
  return /\/collections\/users\/profiles\/([^/?#]*)/.exec(url)?.[1] ?? '';
}

/**
 * The profile a path's identifier names. profile-api.md documents only `<id_type:external_id>`
 * ("Routes"; "The Profile API requires both the type of ID and the value separated by a colon"),
 * so an identifier without its type is a 404, a bare `use_…` id included: that form appears only
 * in cursor URLs. The value is percent-decoded; a `+` must be sent as `%2B` ("To query phone
 * numbers that contain a plus sign (`+`), insert the escape characters `%2B`"), so an unescaped
 * one is read as form encoding reads it, a space, and finds nobody.
 */
function lookup(store: SandboxStore, raw: string): SandboxCustomer | undefined {
  const colon = raw.indexOf(':');
  if (colon <= 0) return undefined;
  const type = percentDecode(raw.slice(0, colon));
  const value = percentDecode(raw.slice(colon + 1));
  if (!type || value === null) return undefined;
  return store.profile(type, value);
}

/** The account an accounts route's identifier names: `group_id:<id>`, percent-decoded, and nothing else. */
function accountOf(store: SandboxStore, raw: string): SandboxAccount | undefined {
  const colon = raw.indexOf(':');
  if (colon <= 0 || percentDecode(raw.slice(0, colon)) !== 'group_id') return undefined;
  const groupId = percentDecode(raw.slice(colon + 1));
  return groupId ? store.world.accounts.find((a) => a.groupId === groupId) : undefined;
}

function percentDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Per-customer listings, computed on first use: traits do not change after seeding. */
class ProfileViews {
  private readonly traitCache = new Map<number, TraitEntry[]>();
  private readonly externalIdCache = new Map<number, ExternalIdWire[]>();
  private readonly accountTraitCache = new Map<string, TraitEntry[]>();

  constructor(private readonly store: SandboxStore) {}

  traits(customer: SandboxCustomer): TraitEntry[] {
    let entries = this.traitCache.get(customer.index);
    if (entries) return entries;
    const { sources } = this.store.world;
    const computedAt = new Date(this.store.clock()).toISOString();
    const now = this.store.clock();
    entries = Object.entries(customer.traits).map(([key, value]) => {
      const computed = COMPUTED_TRAITS.has(key);
      return {
        key,
        value,
        kind: computed ? 'computed_trait' : 'trait',
        sourceId: computed ? sources.personas : sources.web,
        updatedAt: computed ? computedAt : (customer.traitsUpdatedAt[key] ?? lastSet(customer, key, now)),
      };
    });
    for (const [key, value] of Object.entries(customer.audiences)) {
      entries.push({ key, value, kind: 'audience', sourceId: sources.personas, updatedAt: computedAt });
    }
    this.traitCache.set(customer.index, entries);
    return entries;
  }

  accountTraits(account: SandboxAccount): TraitEntry[] {
    let entries = this.accountTraitCache.get(account.groupId);
    if (!entries) {
      const sourceId = this.store.world.sources.server;
      entries = Object.entries(account.traits).map(([key, value]) => ({ key, value, kind: 'trait', sourceId, updatedAt: account.createdAt }));
      this.accountTraitCache.set(account.groupId, entries);
    }
    return entries;
  }

  externalIds(customer: SandboxCustomer): ExternalIdWire[] {
    let ids = this.externalIdCache.get(customer.index);
    if (ids) return ids;
    const { sources } = this.store.world;
    const pairs: Array<[string, string, string]> = [];
    if (customer.userId) pairs.push(['user_id', customer.userId, sources.server]);
    if (customer.email) pairs.push(['email', customer.email, sources.server]);
    if (customer.phone) pairs.push([this.store.phoneIdType, customer.phone, sources.server]);
    for (const id of customer.anonymousIds) pairs.push(['anonymous_id', id, sources.web]);
    const created = Date.parse(customer.createdAt);
    ids = pairs.map(([type, id, sourceId], i) => ({
      source_id: sourceId,
      collection: 'users',
      id,
      type,
      created_at: new Date(created + i * 60_000).toISOString(),
      encoding: 'none',
      first_message_id: stableUuid(`${customer.profileId}:${type}:${id}`),
    }));
    this.externalIdCache.set(customer.index, ids);
    return ids;
  }
}

/**
 * When a trait was last set, unless the customer's data says otherwise: within the last 30 days
 * (a customer who signs in is identified again), never before the profile existed; the same
 * every run, with no draw from the seed's random streams (which would change every customer).
 */
function lastSet(customer: SandboxCustomer, key: string, now: number): string {
  let hash = 0x811c9dc5;
  for (const char of `${customer.profileId}:${key}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const ago = (hash % (30 * 24 * 60)) * 60_000;
  return new Date(Math.max(Date.parse(customer.createdAt), now - ago)).toISOString();
}

function cursor(url: string, hasMore: boolean, next: () => string): SegmentCursor {
  return { url, has_more: hasMore, next: hasMore ? next() : '' };
}

const encodeCursor = (value: string): string => Buffer.from(value, 'utf8').toString('base64');

/** The payload of a cursor made for `kind`; anything else is a bad cursor. */
function decodeCursor(cursor: string, kind: string): string {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(cursor) ? Buffer.from(cursor, 'base64').toString('utf8') : '';
  if (!decoded.startsWith(`${kind}:`)) throw new BadRequest('invalid_request_error', 'The next cursor is invalid.');
  return decoded.slice(kind.length + 1);
}

function decodeOffsetCursor(cursor: string | undefined, kind: string): number {
  if (!cursor) return 0;
  const offset = Number(decodeCursor(cursor, kind));
  if (!Number.isInteger(offset) || offset < 0) throw new BadRequest('invalid_request_error', 'The next cursor is invalid.');
  return offset;
}

function intParam(raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new BadRequest('validation_error', `limit must be an integer between ${min} and ${max}`);
  return n;
}

/** An ISO 8601 bound, normalised so it compares with event timestamps as strings. */
function isoParam(raw: string | undefined, name: string): string | null {
  if (raw === undefined || raw === '') return null;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new BadRequest('validation_error', `${name} must be an ISO 8601 timestamp`);
  return new Date(ms).toISOString();
}

function listParam(raw: string | undefined): Set<string> | null {
  if (!raw) return null;
  return new Set(
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** A UUID that depends only on its input, for ids Segment would have stored. */
function stableUuid(input: string): string {
  const h = createHash('sha1').update(input).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
