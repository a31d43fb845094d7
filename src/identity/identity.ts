import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { isSid } from '../twilio/sids';

/**
 * Turning what a task or agent carries (addresses, ids) into identifiers Segment and Twilio know.
 * Pure functions: no I/O here.
 */
export interface LookupInput {
  userId?: string | null;
  email?: string | null;
  phone?: string | null;
  anonymousId?: string | null;
  address?: string | null;
  conversationSid?: string | null;
  taskSid?: string | null;
}

export type IdentifierKind = 'user_id' | 'email' | 'phone' | 'anonymous_id';

/** One identifier to try in Segment, in lookup order. `type` is Segment's external-id type. */
export interface Candidate {
  kind: IdentifierKind;
  type: string;
  id: string;
}

const CHANNEL_PREFIXES = ['whatsapp', 'messenger', 'sms', 'mms', 'rcs', 'tel', 'email', 'mailto'];
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;
const MAX_ID_LENGTH = 256;

export function normalizeEmail(value: string): string | null {
  const email = value.trim().toLowerCase();
  return email.length <= MAX_ID_LENGTH && EMAIL.test(email) ? email : null;
}

/** E.164, or null when the number is not a possible phone number. */
export function normalizePhone(value: string, region: string): string | null {
  const raw = value.trim();
  if (raw.length === 0 || raw.length > 40 || !/^[+\d\s().-]+$/.test(raw)) return null;
  const parsed = parsePhoneNumberFromString(raw, region as CountryCode);
  return parsed?.isPossible() ? parsed.number : null;
}

/** Splits `whatsapp:+1555…` into channel and bare value. */
export function splitAddress(address: string): { channel: string | null; value: string } {
  const match = /^([a-z]+):(.*)$/i.exec(address.trim());
  if (match && CHANNEL_PREFIXES.includes(match[1].toLowerCase())) return { channel: match[1].toLowerCase(), value: match[2].trim() };
  return { channel: null, value: address.trim() };
}

export interface ParsedAddress {
  /** The address as Twilio Conversations knows it (`whatsapp:+1555…`, `+1555…`, `messenger:123`). */
  twilio: string;
  phone: string | null;
  email: string | null;
}

export function parseAddress(address: string, region: string): ParsedAddress | null {
  if (!address || address.length > MAX_ID_LENGTH) return null;
  const { channel, value } = splitAddress(address);
  if (channel === 'messenger') return value ? { twilio: `messenger:${value}`, phone: null, email: null } : null;
  const email = value.includes('@') ? normalizeEmail(value) : null;
  if (email) return { twilio: email, phone: null, email };
  const phone = normalizePhone(value, region);
  if (!phone) return null;
  return { twilio: channel === 'whatsapp' ? `whatsapp:${phone}` : phone, phone, email: null };
}

function cleanId(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed.length > 0 && trimmed.length <= MAX_ID_LENGTH ? trimmed : null;
}

export interface MessageAuthor {
  fromCustomer: boolean;
  /** The customer's identifier type when they wrote it (`phone`, `email`): what the access policy masks it as. */
  authorType: 'phone' | 'email' | null;
}

/**
 * Whether the customer wrote a message. Customers write from their address (a phone, an email, a
 * Messenger or chat identity) and agents as their Flex identity, often an email: an author is the
 * customer when it is the conversation's customer address, or a phone (no agent writes as one).
 */
export function messageAuthor(author: string | null, customerAddress: string | null, region: string): MessageAuthor {
  if (!author) return { fromCustomer: false, authorType: null };
  const parsed = parseAddress(author, region);
  if (parsed?.phone) return { fromCustomer: true, authorType: 'phone' };
  // The customer's address is parsed only when it may be the same email written differently.
  const email = parsed?.email ?? null;
  const fromCustomer =
    author === customerAddress || (email !== null && customerAddress?.includes('@') === true && parseAddress(customerAddress, region)?.email === email);
  return { fromCustomer, authorType: fromCustomer && email ? 'email' : null };
}

/** The longest value each lookup field takes (an email: RFC 5321's 254; a phone, formatted). */
const LOOKUP_MAX_LENGTH = { userId: MAX_ID_LENGTH, email: 254, phone: 64, anonymousId: MAX_ID_LENGTH, address: MAX_ID_LENGTH } as const;

/**
 * What is wrong with a lookup a caller sent, or null. Checked before anything is built from it
 * (cache keys, audit lines, upstream calls); the problem names the field, never the value.
 */
export function lookupInputProblem(input: LookupInput): string | null {
  for (const [field, max] of Object.entries(LOOKUP_MAX_LENGTH) as Array<[keyof typeof LOOKUP_MAX_LENGTH, number]>) {
    const value = input[field];
    if (typeof value === 'string' && value.length > max) return `lookup.${field} is longer than ${max} characters`;
  }
  if (input.taskSid != null && input.taskSid !== '' && !isSid('task', input.taskSid))
    return 'lookup.taskSid must be a TaskRouter task SID (WT and 32 hex digits)';
  if (input.conversationSid != null && input.conversationSid !== '' && !isSid('conversation', input.conversationSid)) {
    return 'lookup.conversationSid must be a Conversations SID (CH and 32 hex digits)';
  }
  return null;
}

export interface NormalizedLookup {
  candidates: Candidate[];
  /** Twilio addresses named by the lookup itself. */
  addresses: string[];
}

/**
 * Segment identifiers in the contract's order (userId → email → phone → anonymousId → address)
 * plus the Twilio addresses to search. Unparseable values are dropped, not guessed at.
 */
export function normalizeLookup(input: LookupInput, options: { region: string; phoneIdType: string }): NormalizedLookup {
  const candidates: Candidate[] = [];
  const addresses: string[] = [];
  const add = (candidate: Candidate) => {
    if (!candidates.some((c) => c.type === candidate.type && c.id === candidate.id)) candidates.push(candidate);
  };
  const userId = cleanId(input.userId);
  if (userId) add({ kind: 'user_id', type: 'user_id', id: userId });
  const email = input.email ? normalizeEmail(input.email) : null;
  if (email) add({ kind: 'email', type: 'email', id: email });
  const phone = input.phone ? parseAddress(input.phone, options.region) : null;
  if (phone?.phone) {
    add({ kind: 'phone', type: options.phoneIdType, id: phone.phone });
    addresses.push(phone.twilio);
  }
  const anonymousId = cleanId(input.anonymousId);
  if (anonymousId) add({ kind: 'anonymous_id', type: 'anonymous_id', id: anonymousId });
  const address = input.address ? parseAddress(input.address, options.region) : null;
  if (address) {
    if (address.email) add({ kind: 'email', type: 'email', id: address.email });
    if (address.phone) add({ kind: 'phone', type: options.phoneIdType, id: address.phone });
    addresses.push(address.twilio);
  }
  if (email) addresses.push(email);
  return { candidates, addresses: unique(addresses) };
}

/** Every Twilio address a customer may have used, from their known phone numbers and emails. */
export function addressesFor(ids: { phones: string[]; emails: string[] }): string[] {
  return unique([...ids.phones.flatMap((p) => [p, `whatsapp:${p}`]), ...ids.emails]);
}

/** Identifiers a TaskRouter task carries about its customer (Flex's usual attribute names). */
export function lookupFromTaskAttributes(attributes: Record<string, unknown>): LookupInput {
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : null);
  const customers = (attributes.customers && typeof attributes.customers === 'object' ? attributes.customers : {}) as Record<string, unknown>;
  return {
    address: str(attributes.customerAddress) ?? str(attributes.from),
    phone: str(customers.phone),
    email: str(customers.email) ?? str(attributes.email),
    userId: str(attributes.userId) ?? str(attributes.user_id),
    // A task's attributes are anyone's to write: a sid that is not one builds no key.
    conversationSid: [attributes.conversationSid, attributes.conversation_sid].find((v): v is string => isSid('conversation', v)) ?? null,
  };
}

export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
