import { createHash } from 'node:crypto';

/**
 * A plain SHA-256 digest, base64url (`length` characters; 43 is all of it), for what is not a
 * customer's identifier: Flex tokens (high-entropy secrets, so a plain hash cannot be reversed by
 * guessing; it keeps them out of keys and logs) and a deletion request's dedupe basis. A customer's
 * identifiers (phones, emails, addresses) go through `IdentifierDigest`
 * (common/identifier-digest.ts) instead: a plain hash of a phone number is reversed by hashing
 * every phone number.
 */
export function plainDigest(value: string, length = 43): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, length);
}
