/** The parts of a Flex Interaction the service reads (https://flex-api.twilio.com/v1/Interactions/{Sid}). */
export interface InteractionInfo {
  sid: string;
  /** `channel`: a JSON object, `{ type, sid }` in Twilio's example answer. */
  channel: unknown;
  /** `routing`: a JSON object whose `properties` are the task's (its `sid`, its `attributes`). */
  routing: unknown;
}

/** The parts of an Interaction Channel Participant the service reads. */
export interface InteractionParticipant {
  sid: string;
  /** agent, customer, supervisor, external, unknown */
  type: string;
  /** `routing_properties`: for an agent, `{ task_sid, worker_sid, reservation_sid }` in Twilio's example. */
  routingProperties: unknown;
}

/** Port to the Flex Interactions API (https://www.twilio.com/docs/flex/developer/conversations/interactions-api). */
export abstract class InteractionSource {
  /** An Interaction; null when Twilio does not know it. */
  abstract interaction(interactionSid: string): Promise<InteractionInfo | null>;
  /** A channel's participants; empty when Twilio does not know the channel. */
  abstract participants(interactionSid: string, channelSid: string): Promise<InteractionParticipant[]>;
}
