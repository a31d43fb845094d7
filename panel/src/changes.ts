import type { CustomerContext, JourneyEntry } from './query';

/**
 * What a re-query brought that the agent has not seen: keys of new timeline entries, messages,
 * audiences and changed signals, to highlight them, and a sentence for screen readers.
 */
export interface Changes {
  keys: Set<string>;
  summary: string;
}

/** Intelligence results and wrap-up notes carry neither an event nor a conversation: their kind, title and time tell them apart. */
export const journeyKey = (entry: JourneyEntry) =>
  entry.event
    ? `event:${entry.event.id}`
    : entry.conversation
      ? `conversation:${entry.conversation.sid}:${entry.at}`
      : `${entry.kind}:${entry.title}:${entry.at}`;
export const messageKey = (sid: string) => `message:${sid}`;
export const audienceKey = (audience: string) => `audience:${audience}`;
export const signalKey = (name: string) => `signal:${name}`;

function keysOf(context: CustomerContext): Set<string> {
  const keys = new Set<string>();
  for (const entry of context.journey) keys.add(journeyKey(entry));
  for (const { node } of context.conversations.edges) for (const message of node.messages) keys.add(messageKey(message.sid));
  for (const audience of context.audiences) keys.add(audienceKey(audience));
  return keys;
}

export function changesBetween(before: CustomerContext, after: CustomerContext): Changes {
  const seen = keysOf(before);
  const keys = new Set([...keysOf(after)].filter((key) => !seen.has(key)));
  for (const [name, value] of Object.entries(after.signals)) {
    if (before.signals[name as keyof CustomerContext['signals']] !== value) keys.add(signalKey(name));
  }
  const parts: string[] = [];
  const events = after.journey.filter((entry) => entry.event && keys.has(journeyKey(entry))).map((entry) => entry.title);
  if (events.length > 0) parts.push(`new activity: ${events.join(', ')}`);
  const messages = after.conversations.edges.flatMap(({ node }) => node.messages).filter((m) => keys.has(messageKey(m.sid)));
  if (messages.length > 0) parts.push(`${messages.length} new ${messages.length === 1 ? 'message' : 'messages'}`);
  const audiences = after.audiences.filter((a) => keys.has(audienceKey(a)));
  if (audiences.length > 0) parts.push(`now in ${audiences.join(', ')}`);
  return { keys, summary: parts.length > 0 ? `Updated: ${parts.join('; ')}.` : '' };
}
