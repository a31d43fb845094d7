import { lookupFromTaskAttributes, type LookupInput } from '../identity/identity';
import { isSid } from '../twilio/sids';
import type { InteractionInfo, InteractionParticipant } from './interaction.source';

/**
 * How an Interaction names its customer, as far as Twilio documents it. Pure: no I/O.
 *
 * 1. `routing.properties.attributes`: the Interaction's task attributes ("All attributes in the
 *    Routing object ... are added as is to the task", twilio_flex_v1.json, `routing`); Twilio's
 *    example answer (https://www.twilio.com/docs/flex/developer/conversations/interactions-api,
 *    "Example Request and Response") carries `conversationSid` and `customerAddress` there, the
 *    Known Task Attributes (#task-attributes). Read like any task's attributes.
 * 2. `routing.properties.sid`: the task itself (WT…), read like a lookup by `taskSid`.
 * 3. The channel's participants: an agent's `routing_properties.task_sid` (the OpenAPI document's
 *    example), the note's own participant first.
 *
 * The Interaction's `channel` is `{ type, sid }` in the documented answer, with no conversation or
 * address in it, so it is not read; `profile_connect_sid` names a Segment/Profile Connect profile
 * through an API this service does not use (see the webhook controller).
 */
export function lookupFromInteraction(interaction: InteractionInfo): LookupInput | null {
  const properties = objectAt(interaction.routing, 'properties');
  if (!properties) return null;
  const attributes = jsonObject(properties.attributes);
  if (attributes) {
    const lookup = lookupFromTaskAttributes(attributes);
    if (Object.values(lookup).some((v) => v)) return lookup;
  }
  return isSid('task', properties.sid) ? { taskSid: properties.sid } : null;
}

/** The task of the note's participant, else of any agent on the channel. */
export function lookupFromParticipants(participants: readonly InteractionParticipant[], participantSid: string | null): LookupInput | null {
  const ordered = [...participants.filter((p) => p.sid === participantSid), ...participants.filter((p) => p.sid !== participantSid && p.type === 'agent')];
  for (const participant of ordered) {
    const taskSid = objectOf(participant.routingProperties)?.task_sid;
    if (isSid('task', taskSid)) return { taskSid };
  }
  return null;
}

function objectAt(value: unknown, key: string): Record<string, unknown> | null {
  return objectOf(objectOf(value)?.[key]);
}

/** A JSON object, or a string holding one (task attributes travel as a string). */
function jsonObject(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string') return objectOf(value);
  try {
    return objectOf(JSON.parse(value));
  } catch {
    return null;
  }
}

function objectOf(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
