import type { ExternalId } from './profile.types';

/**
 * The identifier a Profile API request names a profile by. Segment documents only
 * `<id_type:external_id>` in the path (segment-docs `src/unify/profile-api.md`, "Routes" and
 * "Get a profile's traits": `GET /v1/spaces/<space_id>/collections/users/profiles/<id_type:external_id>/traits`);
 * the `use_…` id appears only in cursor URLs and is never sent. The profile's `user_id` is
 * preferred: it is stable, and the docs advise against lookups by PII such as an email, which end
 * up in server logs ("Best practices", "External IDs"). Without one, the identifier the lookup
 * resolved by (Segment has just answered for it), then an `anonymous_id`, then any other.
 */
export function profileIdentifier(resolvedBy: ExternalId | null, externalIds: readonly ExternalId[]): ExternalId | null {
  const usable = (id: ExternalId | null | undefined): id is ExternalId => Boolean(id && id.type && id.id);
  const userId = externalIds.find((e) => e.type === 'user_id' && usable(e));
  if (userId) return { type: userId.type, id: userId.id };
  if (usable(resolvedBy)) return { type: resolvedBy.type, id: resolvedBy.id };
  const other = externalIds.find((e) => e.type === 'anonymous_id' && usable(e)) ?? externalIds.find(usable);
  return other ? { type: other.type, id: other.id } : null;
}

/**
 * `type:value` as a path segment. The docs: "To query phone numbers that contain a plus sign (`+`),
 * insert the escape characters `%2B`", and a value with other non-alphanumeric characters may
 * get a 500 unless they are escaped (profile-api.md, "Find a user's external id"). So every
 * character outside RFC 3986's unreserved set is percent-encoded, in the type and in the value;
 * the colon between them stays as it is documented.
 */
export function identifierPath(id: ExternalId): string {
  return `${strictEncode(id.type)}:${strictEncode(id.id)}`;
}

function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
