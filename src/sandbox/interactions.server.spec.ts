import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import twilio from 'twilio';
import { openApi, TWILIO_OAI_FIXTURES } from '../../test/support/twilio-oai';
import { RebasingRequestClient } from '../twilio/twilio-client';
import { intelligenceDemo } from './intelligence.server';
import { interactionsDemo, type SandboxInteraction } from './interactions.server';
import { startSandbox, type Sandbox } from './sandbox';

/** The sandbox's Flex Interactions answer exactly what Twilio's Flex v1 OpenAPI document describes. */
describe('sandbox Flex Interactions', () => {
  let sandbox: Sandbox;
  let byConversation: SandboxInteraction;
  let byTask: SandboxInteraction;
  let oai: ReturnType<typeof openApi>;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 20, quiet: true });
    const world = { accountSid: sandbox.credentials.accountSid };
    [byConversation, byTask] = interactionsDemo(sandbox.data, world, intelligenceDemo(sandbox.data, world, 0)?.customer ?? null);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('uri-map', true);
    oai = openApi(ajv, join(TWILIO_OAI_FIXTURES, 'twilio_flex_v1.json'), 'flex');
  });
  afterAll(() => sandbox.close());

  const get = async (path: string) => {
    const auth = Buffer.from(`${sandbox.credentials.accountSid}:${sandbox.credentials.authToken}`).toString('base64');
    const response = await fetch(`${sandbox.twilioUrl}${path}`, { headers: { authorization: `Basic ${auth}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("serves an Interaction whose routing carries its task's attributes, as documented", async () => {
    const { status, body } = await get(`/v1/Interactions/${byConversation.sid}`);
    expect(status).toBe(200);
    const validate = oai.response('/v1/Interactions/{Sid}', 'get', 200);
    expect(validate(body) ? [] : validate.errors).toEqual([]);
    const attributes = JSON.parse((body.routing as { properties: { attributes: string } }).properties.attributes) as Record<string, unknown>;
    expect(attributes).toMatchObject({ conversationSid: byConversation.customer.conversations[0].sid, customerAddress: byConversation.customer.phone });
  });

  it("serves a channel's participants, the agent's routing properties naming the task, as documented", async () => {
    expect(byTask).toBeDefined();
    expect((await get(`/v1/Interactions/${byTask.sid}`)).body.routing).toBeNull();
    const { status, body } = await get(`/v1/Interactions/${byTask.sid}/Channels/${byTask.channelSid}/Participants`);
    expect(status).toBe(200);
    const validate = oai.response('/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants', 'get', 200);
    expect(validate(body) ? [] : validate.errors).toEqual([]);
    const participants = body.participants as Array<{ type: string; routing_properties: { task_sid?: string } | null }>;
    expect(participants.find((p) => p.type === 'agent')?.routing_properties?.task_sid).toBe(byTask.customer.tasks[0].sid);
  });

  it('answers an unknown Interaction or channel with 404, which twilio-node reports as such', async () => {
    const unknown = `KD${'0'.repeat(32)}`;
    expect((await get(`/v1/Interactions/${unknown}`)).status).toBe(404);
    expect((await get(`/v1/Interactions/${byTask.sid}/Channels/UO${'0'.repeat(32)}/Participants`)).status).toBe(404);
    const client = twilio(sandbox.credentials.accountSid, sandbox.credentials.authToken, { httpClient: new RebasingRequestClient(sandbox.twilioUrl, {}) });
    await expect(client.flexApi.v1.interaction(unknown).fetch()).rejects.toMatchObject({ status: 404 });
    const participants = await client.flexApi.v1.interaction(byTask.sid).channels(byTask.channelSid).participants.list();
    expect(participants.map((p) => [p.type, (p.routingProperties as { task_sid?: string } | null)?.task_sid ?? null])).toEqual([
      ['customer', null],
      ['agent', byTask.customer.tasks[0].sid],
    ]);
  });
});
