import type { SandboxCustomer } from '../../src/sandbox/sandbox';

/** What the agent panel asks for a customer on screen. */
export const PANEL_QUERY = `query Panel($lookup: CustomerLookupInput!) {
  customerContext(lookup: $lookup) {
    profileId
    traits
    audiences
    events(first: 20) { totalCount edges { node { id type name occurredAt properties } } }
    conversations(first: 5) {
      totalCount
      edges { node { sid channel state createdAt updatedAt friendlyName messages(last: 3) { sid author body createdAt } } }
    }
    journey { kind at title }
    signals { repeatContact24h contacts24h openConversations lastSeenAt lastPurchaseAt }
    routing { attributes matchedRules }
  }
}`;

export type Lookup = { phone: string } | { email: string } | { userId: string } | { anonymousId: string };

/** The identifier a task would carry: the phone when there is one. */
export function lookupOf(customer: SandboxCustomer): Lookup {
  if (customer.phone) return { phone: customer.phone };
  if (customer.email) return { email: customer.email };
  if (customer.userId) return { userId: customer.userId };
  if (customer.anonymousIds.length > 0) return { anonymousId: customer.anonymousIds[0] };
  throw new Error(`customer ${customer.index} has no identifier a lookup takes`);
}

export const panelBody = (customer: SandboxCustomer): string =>
  JSON.stringify({ query: PANEL_QUERY, operationName: 'Panel', variables: { lookup: lookupOf(customer) } });

export interface GraphQLAnswer {
  status: number;
  text: string;
  errors: unknown[] | undefined;
}

export async function postGraphQL(url: string, token: string, body: string): Promise<GraphQLAnswer> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const text = await response.text();
  let errors: unknown[] | undefined;
  try {
    errors = (JSON.parse(text) as { errors?: unknown[] }).errors;
  } catch {
    errors = [text.slice(0, 200)];
  }
  return { status: response.status, text, errors };
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function forEachLimit<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
