/** The customer to show, from the query string a Flex plugin builds from the task. */
export type CustomerLookup = Partial<Record<(typeof LOOKUP_KEYS)[number], string>>;

// CustomerLookupInput's fields; anything else in the URL is ignored.
const LOOKUP_KEYS = ['taskSid', 'conversationSid', 'userId', 'email', 'phone', 'address', 'anonymousId'] as const;

export function lookupFrom(search: string): CustomerLookup | null {
  const params = new URLSearchParams(search);
  const lookup: CustomerLookup = {};
  for (const key of LOOKUP_KEYS) {
    const value = params.get(key)?.trim();
    if (value) lookup[key] = value;
  }
  return Object.keys(lookup).length > 0 ? lookup : null;
}

/** "phone +12015550100", for the empty state. */
export function describeLookup(lookup: CustomerLookup): string {
  return Object.entries(lookup)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
}
