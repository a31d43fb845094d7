import type { CustomerLookup } from './lookup';

/** How much of the timeline and of each thread the panel shows; a pushed change is trimmed to the same. */
export const JOURNEY_FIRST = 30;
export const MESSAGES_LAST = 4;

/** The one query the panel makes, and the shape of its answer (schema.graphql). */
const CONTEXT_QUERY = `query Panel($lookup: CustomerLookupInput!) {
  customerContext(lookup: $lookup) {
    profileId
    resolvedBy { type id }
    externalIds { type id }
    traits
    traitDetails { key source updatedAt stale }
    account { groupId traits }
    audiences
    signals { repeatContact24h contacts24h openConversations lastPurchaseAt lastSeenAt lastSentiment escalationRequested24h doNotContact }
    latestNote { sid summary summaryWithheld sentiment createdAt }
    routing { attributes matchedRules degraded degradedReason explanations { rule matched reason error } }
    journey(first: ${JOURNEY_FIRST}) { at kind title event { id name type } conversation { sid channel state } }
    conversations(first: 3) { totalCount edges { node { sid channel state friendlyName updatedAt messages(last: ${MESSAGES_LAST}) { sid author fromCustomer body bodyWithheld createdAt } } } }
    freshness { stale sources { source stale error fetchedAt } }
    withheld { part path consent action }
  }
}`;

interface ExternalId {
  type: string;
  id: string;
}

export interface Message {
  sid: string;
  author: string | null;
  fromCustomer: boolean;
  body: string | null;
  /** The access policy keeps the text from this agent's role (body is then null). */
  bodyWithheld: boolean;
  createdAt: string;
}

export interface Conversation {
  sid: string;
  channel: string | null;
  state: string;
  friendlyName: string | null;
  updatedAt: string | null;
  messages: Message[];
}

export interface JourneyEntry {
  at: string;
  kind: string;
  title: string;
  event: { id: string; name: string | null; type: string } | null;
  conversation: { sid: string; channel: string | null; state: string } | null;
}

interface RuleExplanation {
  rule: string;
  matched: boolean;
  reason: string;
  error: string | null;
}

interface SourceStatus {
  source: string;
  stale: boolean;
  error: string | null;
  /** When the copy shown was fetched; null when there is none (the source is missing). */
  fetchedAt: string | null;
}

/** Where a trait came from (its value is in `traits`); `stale`: set longer ago than the service's TRAIT_STALE_AFTER_MS. */
export interface TraitDetail {
  key: string;
  source: string | null;
  updatedAt: string | null;
  stale: boolean;
}

export interface CustomerContext {
  profileId: string | null;
  resolvedBy: ExternalId | null;
  externalIds: ExternalId[];
  traits: Record<string, unknown>;
  traitDetails: TraitDetail[];
  /** The first business account the customer is linked to (Segment accounts). */
  /** groupId: null when the access policy hides it (masked when it masks it). */
  account: { groupId: string | null; traits: Record<string, unknown> } | null;
  audiences: string[];
  signals: {
    repeatContact24h: boolean;
    contacts24h: number;
    openConversations: number;
    lastPurchaseAt: string | null;
    lastSeenAt: string | null;
    /** Conversational Intelligence: the latest sentiment label, a request for a manager, a request not to be contacted. */
    lastSentiment: string | null;
    escalationRequested24h: boolean;
    doNotContact: boolean;
  };
  /** The latest Agent Copilot wrap-up note (schema: WrapUpNote); summary null and summaryWithheld when the role may not read it. */
  latestNote: { sid: string; summary: string | null; summaryWithheld: boolean; sentiment: string | null; createdAt: string } | null;
  routing: {
    attributes: Record<string, unknown>;
    matchedRules: string[];
    degraded: boolean;
    degradedReason: string | null;
    explanations: RuleExplanation[];
  };
  journey: JourneyEntry[];
  conversations: { totalCount: number; edges: Array<{ node: Conversation }> };
  freshness: { stale: boolean; sources: SourceStatus[] };
  /** What the customer's consent keeps from the answer, and which consent (schema: WithheldField). */
  withheld: Array<{ part: string; path: string; consent: string; action: string }>;
}

type QueryResult = { kind: 'ok'; context: CustomerContext | null } | { kind: 'unauthenticated' } | { kind: 'failed'; message: string };

interface GraphQLAnswer {
  data?: { customerContext: CustomerContext | null } | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export async function fetchContext(token: string, lookup: CustomerLookup): Promise<QueryResult> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CONTEXT_QUERY, variables: { lookup } }),
    });
  } catch {
    return { kind: 'failed', message: 'The service cannot be reached.' };
  }
  if (response.status === 401) return { kind: 'unauthenticated' };
  let answer: GraphQLAnswer;
  try {
    answer = (await response.json()) as GraphQLAnswer;
  } catch {
    return { kind: 'failed', message: `The service answered ${response.status}.` };
  }
  const error = answer.errors?.[0];
  if (error?.extensions?.code === 'UNAUTHENTICATED') return { kind: 'unauthenticated' };
  if (error || !answer.data) return { kind: 'failed', message: error?.message ?? `The service answered ${response.status}.` };
  return { kind: 'ok', context: answer.data.customerContext };
}
