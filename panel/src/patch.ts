import { JOURNEY_FIRST, MESSAGES_LAST, type CustomerContext, type JourneyEntry, type Message } from './query';

/**
 * A customerContextChanged push, with the values of the small parts it carries (already shown,
 * masked or hidden for this agent's role by the service, as the query would).
 */
export interface PushedChange {
  parts: string[];
  traits: Record<string, unknown> | null;
  event: { id: string; type: string; name: string | null; occurredAt: string } | null;
  conversationSid: string | null;
  message: Message | null;
}

export const CHANGE_SELECTION = `parts traits event { id type name occurredAt } conversationSid
  message { sid author fromCustomer body bodyWithheld createdAt }`;

const newestFirst = (a: { at: string }, b: { at: string }) => Date.parse(b.at) - Date.parse(a.at);
const oldestFirst = (a: Message, b: Message) => Date.parse(a.createdAt) - Date.parse(b.createdAt);

/**
 * What the panel shows once the push is applied, shaped as the next query will answer it; null
 * when the push does not carry what it would take (an alias, a conversation added or closed, a
 * message in a thread not on screen): the panel then asks the service at once. Applying a push
 * twice, or one the shown answer already has, changes nothing.
 */
export function applyChange(context: CustomerContext, change: PushedChange): CustomerContext | null {
  let next = context;
  for (const part of change.parts) {
    if (part === 'traits' && change.traits) next = withTraits(next, change.traits);
    else if (part === 'events' && change.event) next = withEvent(next, change.event);
    else if (part === 'messages' && change.message && change.conversationSid) {
      const patched = withMessage(next, change.conversationSid, change.message);
      if (!patched) return null;
      next = patched;
    }
    // A message added is news about its conversation too: its thread is what the panel shows of it.
    else if (part === 'conversations' && change.parts.includes('messages') && change.message) continue;
    else return null;
  }
  return next;
}

function withTraits(context: CustomerContext, traits: Record<string, unknown>): CustomerContext {
  const same = Object.entries(traits).every(([name, value]) => JSON.stringify(context.traits[name]) === JSON.stringify(value));
  if (same) return context;
  // A pushed trait was set just now, by a message whose time the push does not carry: its origin
  // is left out (no age, not stale) until the query that confirms the push brings it.
  const traitDetails = context.traitDetails.filter((detail) => !Object.hasOwn(traits, detail.key));
  return { ...context, traits: { ...context.traits, ...traits }, traitDetails };
}

/** The journey's event entry as the service builds it (customer-context.resolver.ts). */
function withEvent(context: CustomerContext, event: NonNullable<PushedChange['event']>): CustomerContext {
  if (context.journey.some((entry) => entry.event?.id === event.id)) return context;
  const entry: JourneyEntry = {
    at: event.occurredAt,
    kind: 'event',
    title: event.name ?? event.type,
    event: { id: event.id, name: event.name, type: event.type },
    conversation: null,
  };
  return { ...context, journey: [...context.journey, entry].sort(newestFirst).slice(0, JOURNEY_FIRST) };
}

function withMessage(context: CustomerContext, conversationSid: string, message: Message): CustomerContext | null {
  const edges = context.conversations.edges;
  const index = edges.findIndex(({ node }) => node.sid === conversationSid);
  if (index < 0) return null;
  const node = edges[index].node;
  if (node.messages.some((m) => m.sid === message.sid)) return context;
  const messages = [...node.messages, message].sort(oldestFirst).slice(-MESSAGES_LAST);
  const patched = edges.map((edge, i) => (i === index ? { node: { ...node, messages } } : edge));
  return { ...context, conversations: { ...context.conversations, edges: patched } };
}
