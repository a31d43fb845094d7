import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import twilio from 'twilio';
import { openApi, TWILIO_OAI_FIXTURES } from '../../test/support/twilio-oai';
import { RebasingRequestClient } from '../twilio/twilio-client';
import { intelligenceDemo, type SandboxTranscript } from './intelligence.server';
import { startSandbox, type Sandbox } from './sandbox';

/** The sandbox's Conversational Intelligence answers exactly what Twilio's OpenAPI document describes. */
describe('sandbox Conversational Intelligence', () => {
  let sandbox: Sandbox;
  let demo: SandboxTranscript;
  let oai: ReturnType<typeof openApi>;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 20, quiet: true });
    demo = intelligenceDemo(sandbox.data, { accountSid: sandbox.credentials.accountSid }, 0) as SandboxTranscript;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('uri-map', true);
    oai = openApi(ajv, join(TWILIO_OAI_FIXTURES, 'twilio_intelligence_v2.json'), 'intelligence');
  });
  afterAll(() => sandbox.close());

  const get = async (path: string) => {
    const auth = Buffer.from(`${sandbox.credentials.accountSid}:${sandbox.credentials.authToken}`).toString('base64');
    const response = await fetch(`${sandbox.twilioUrl}${path}`, { headers: { authorization: `Basic ${auth}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('serves a transcript whose Customer participant is the demo customer, as documented', async () => {
    const { status, body } = await get(`/v2/Transcripts/${demo.sid}`);
    expect(status).toBe(200);
    const validate = oai.response('/v2/Transcripts/{Sid}', 'get', 200);
    expect(validate(body) ? [] : validate.errors).toEqual([]);
    const participants = (body.channel as { participants: Array<Record<string, unknown>> }).participants;
    expect(participants.find((p) => p.role === 'Customer')?.media_participant_id).toBe(demo.customer.phone);
  });

  it('serves its operator results (negative sentiment, an escalation request, a summary), as documented', async () => {
    const { status, body } = await get(`/v2/Transcripts/${demo.sid}/OperatorResults`);
    expect(status).toBe(200);
    const validate = oai.response('/v2/Transcripts/{TranscriptSid}/OperatorResults', 'get', 200);
    expect(validate(body) ? [] : validate.errors).toEqual([]);
    const results = body.operator_results as Array<Record<string, unknown>>;
    expect(results.map((r) => [r.name, r.predicted_label ?? r.utterance_match ?? 'text'])).toEqual([
      ['Sentiment Analysis', 'negative'],
      ['Escalation Request', true],
      ['Conversation Summary', 'text'],
    ]);
  });

  it('answers an unknown transcript with 404, which twilio-node reports as such', async () => {
    expect((await get(`/v2/Transcripts/GT${'0'.repeat(32)}`)).status).toBe(404);
    const client = twilio(sandbox.credentials.accountSid, sandbox.credentials.authToken, { httpClient: new RebasingRequestClient(sandbox.twilioUrl, {}) });
    await expect(client.intelligence.v2.transcripts(`GT${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({ status: 404 });
    const results = await client.intelligence.v2.transcripts(demo.sid).operatorResults.list();
    expect(results.map((r) => r.name)).toEqual(['Sentiment Analysis', 'Escalation Request', 'Conversation Summary']);
  });
});
