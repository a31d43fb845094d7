import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxData } from './data';
import { FLEX_API_HOST } from './flex-plugins.server';
import type { SandboxCustomer, SandboxWorld } from './seed';
import { routeConfig } from './service-server';
import { twilioError } from './twilio-wire';

/**
 * The Flex Interactions API (flex-api.twilio.com/v1/Interactions) as the service reads it for an
 * Agent Copilot wrap-up note: GET /v1/Interactions/{Sid} and
 * GET /v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants, fields exactly as
 * `twilio_flex_v1.json` lists them (flex.v1.interaction, ...interaction_channel_participant).
 * `routing.properties` is shaped like the example answer on
 * https://www.twilio.com/docs/flex/developer/conversations/interactions-api ("Example Request and
 * Response"): the task's sid, queue and workflow, and its `attributes` as a JSON string carrying
 * the Known Task Attributes (`conversationSid`, `customerAddress`, `channelType`, ...).
 *
 * Two demo interactions: the intelligence demo customer's SMS conversation, whose routing names
 * the conversation; and a call whose routing the sandbox leaves empty (`routing` is nullable), so
 * that only the channel's agent participant names the task (its `routing_properties.task_sid`).
 */
export interface SandboxInteraction {
  sid: string;
  channelSid: string;
  channelType: 'sms' | 'voice';
  customer: SandboxCustomer;
  /** The task routed for it: attributes in `routing`, or only the agent's `routing_properties`. */
  taskSid: string;
  taskAttributes: Record<string, unknown> | null;
  agentParticipantSid: string;
  customerParticipantSid: string;
}

const hex32 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 32);

/** The demo interactions; `noteCustomer` is the customer whose note the demo wraps up. */
export function interactionsDemo(
  data: Pick<SandboxData, 'customers'>,
  world: Pick<SandboxWorld, 'accountSid'>,
  noteCustomer: SandboxCustomer | null,
): SandboxInteraction[] {
  const interaction = (customer: SandboxCustomer, n: number, channelType: 'sms' | 'voice', taskSid: string, taskAttributes: Record<string, unknown> | null) => {
    const seed = `${world.accountSid}:interaction:${n}:${customer.index}`;
    return {
      sid: `KD${hex32(seed)}`,
      channelSid: `UO${hex32(`${seed}:channel`)}`,
      channelType,
      customer,
      taskSid,
      taskAttributes,
      agentParticipantSid: `UT${hex32(`${seed}:agent`)}`,
      customerParticipantSid: `UT${hex32(`${seed}:customer`)}`,
    };
  };
  const found: SandboxInteraction[] = [];
  const conversation = noteCustomer?.conversations[0];
  if (noteCustomer && conversation) {
    found.push(
      interaction(noteCustomer, 1, 'sms', `WT${hex32(`${world.accountSid}:interaction-task:1`)}`, {
        customerAddress: noteCustomer.phone,
        conversationSid: conversation.sid,
        channelType: 'sms',
        customerName: noteCustomer.name,
        direction: 'inbound',
        initiatedBy: 'customer',
      }),
    );
  }
  // Named only by the agent's task: one of the seeded tasks, whose attributes name its customer.
  const withTask = data.customers.find((c) => c.profileId && c.tasks.length > 0 && c !== noteCustomer);
  if (withTask) found.push(interaction(withTask, 2, 'voice', withTask.tasks[0].sid, null));
  return found;
}

/** Registers the two Interactions routes on the sandbox's Twilio server. */
export function registerInteractions(app: FastifyInstance, interactions: () => SandboxInteraction[]): void {
  const find = (sid: string) => interactions().find((i) => i.sid === sid);
  const notFound = (reply: FastifyReply, path: string): FastifyReply => reply.code(404).send(twilioError(404, `The requested resource ${path} was not found`));

  app.get<{ Params: { sid: string } }>('/v1/Interactions/:sid', routeConfig('interaction'), async (request, reply) => {
    const i = find(request.params.sid);
    if (!i) return notFound(reply, `/Interactions/${request.params.sid}`);
    const url = `${FLEX_API_HOST}/v1/Interactions/${i.sid}`;
    return {
      sid: i.sid,
      channel: { type: i.channelType, sid: i.channelSid },
      routing: i.taskAttributes
        ? {
            reservation: null,
            properties: {
              sid: i.taskSid,
              assignment_status: 'completed',
              task_channel_unique_name: i.channelType,
              queue_name: 'Everyone',
              workflow_name: 'Assign to Anyone',
              attributes: JSON.stringify({ ...i.taskAttributes, flexInteractionSid: i.sid, flexInteractionChannelSid: i.channelSid }),
            },
          }
        : null,
      interaction_context_sid: null,
      webhook_ttid: null,
      url,
      links: { channels: `${url}/Channels` },
    };
  });

  app.get<{ Params: { interactionSid: string; channelSid: string } }>(
    '/v1/Interactions/:interactionSid/Channels/:channelSid/Participants',
    routeConfig('interaction_participants'),
    async (request, reply) => {
      const { interactionSid, channelSid } = request.params;
      const i = find(interactionSid);
      if (!i || i.channelSid !== channelSid) return notFound(reply, `/Interactions/${interactionSid}/Channels/${channelSid}/Participants`);
      const base = `${FLEX_API_HOST}/v1/Interactions/${i.sid}/Channels/${i.channelSid}/Participants`;
      const participant = (sid: string, type: 'customer' | 'agent', routing: Record<string, string> | null) => ({
        sid,
        channel_sid: i.channelSid,
        interaction_sid: i.sid,
        type,
        routing_properties: routing,
        url: `${base}/${sid}`,
      });
      const page = `${base}?PageSize=50&Page=0`;
      return {
        participants: [
          participant(i.customerParticipantSid, 'customer', null),
          participant(i.agentParticipantSid, 'agent', {
            task_sid: i.taskSid,
            worker_sid: `WK${hex32(`agent:${i.sid}`)}`,
            reservation_sid: `WR${hex32(`reservation:${i.sid}`)}`,
          }),
        ],
        meta: { page: 0, page_size: 50, first_page_url: page, previous_page_url: null, url: page, next_page_url: null, key: 'participants' },
      };
    },
  );
}
