import { Injectable } from '@nestjs/common';
import { TwilioCalls } from '../twilio/twilio-calls';
import { InteractionSource, type InteractionInfo, type InteractionParticipant } from './interaction.source';

/** A channel has an agent, a customer, perhaps a supervisor or two: one page is all of them. */
const PAGE_SIZE = 50;

/**
 * The Flex Interactions API through twilio-node: GET /v1/Interactions/{Sid} and
 * GET /v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants (Twilio's Flex v1
 * OpenAPI document, twilio_flex_v1.json; https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interactions,
 * https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interaction-channel-participants).
 */
@Injectable()
export class TwilioInteractionSource extends InteractionSource {
  constructor(private readonly twilio: TwilioCalls) {
    super();
  }

  interaction(interactionSid: string): Promise<InteractionInfo | null> {
    return this.twilio.call(
      'interaction',
      async () => {
        const i = await this.twilio.client.flexApi.v1.interaction(interactionSid).fetch();
        return { sid: i.sid, channel: (i.channel as unknown) ?? null, routing: (i.routing as unknown) ?? null };
      },
      { 404: null },
    );
  }

  participants(interactionSid: string, channelSid: string): Promise<InteractionParticipant[]> {
    return this.twilio.call(
      'interaction_participants',
      async () => {
        const items = await this.twilio.client.flexApi.v1
          .interaction(interactionSid)
          .channels(channelSid)
          .participants.list({ pageSize: PAGE_SIZE, limit: PAGE_SIZE });
        return items.map((p) => ({ sid: p.sid, type: p.type, routingProperties: (p.routingProperties as unknown) ?? null }));
      },
      { 404: [] },
    );
  }
}
