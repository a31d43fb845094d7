import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxData } from './data';
import { isRecapDemo, twilioDate, type SandboxCustomer, type SandboxWorld } from './seed';
import { queryValue, routeConfig } from './service-server';
import { twilioError } from './twilio-wire';

/**
 * Conversational Intelligence (intelligence.twilio.com/v2) as the service reads it: a
 * Transcript (https://www.twilio.com/docs/conversational-intelligence/api/transcript-resource)
 * and its OperatorResults
 * (https://www.twilio.com/docs/conversational-intelligence/api/transcript-operator-results-subresource),
 * fields exactly as `twilio_intelligence_v2.json` lists them. The demo: one customer's call whose
 * pre-built operators found a negative sentiment and an escalation request, and summarised it.
 */
export const INTELLIGENCE_HOST = 'https://intelligence.twilio.com';

export interface SandboxTranscript {
  sid: string;
  serviceSid: string;
  customer: SandboxCustomer;
  dateCreated: string;
  results: Array<Record<string, unknown>>;
}

const hex32 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 32);

/** The customer the demo transcript is about (`isRecapDemo`; else the first with a profile and a phone). */
export function intelligenceDemo(data: Pick<SandboxData, 'customers'>, world: Pick<SandboxWorld, 'accountSid'>, nowMs: number): SandboxTranscript | null {
  const customer = data.customers.find(isRecapDemo) ?? data.customers.find((c) => c.profileId && c.phone);
  if (!customer) return null;
  const sid = `GT${hex32(`${world.accountSid}:transcript:${customer.index}`)}`;
  const result = (name: string, type: string, fields: Record<string, unknown>) => ({
    operator_type: type,
    name,
    operator_sid: `LY${hex32(`operator:${name}`)}`,
    extract_match: null,
    match_probability: null,
    normalized_result: null,
    utterance_results: null,
    utterance_match: null,
    predicted_label: null,
    predicted_probability: null,
    label_probabilities: null,
    extract_results: null,
    text_generation_results: null,
    json_results: null,
    transcript_sid: sid,
    url: `${INTELLIGENCE_HOST}/v2/Transcripts/${sid}/OperatorResults/LY${hex32(`operator:${name}`)}`,
    ...fields,
  });
  return {
    sid,
    serviceSid: `GA${hex32(`${world.accountSid}:service`)}`,
    customer,
    // A call that ended a quarter of an hour before the sandbox started.
    dateCreated: twilioDate(nowMs - 15 * 60_000),
    results: [
      result('Sentiment Analysis', 'conversation-classify', {
        predicted_label: 'negative',
        predicted_probability: 0.91,
        label_probabilities: { negative: 0.91, neutral: 0.07, positive: 0.02 },
      }),
      result('Escalation Request', 'utterance-classify', {
        utterance_match: true,
        match_probability: 0.88,
        utterance_results: [{ utterance_index: 4, label: 'escalation', probability: 0.88 }],
      }),
      result('Conversation Summary', 'text-generation', {
        text_generation_results: { format: 'text', result: 'The customer called about a late delivery and asked to speak with a manager.' },
      }),
    ],
  };
}

/** Registers GET /v2/Transcripts/{Sid} and its OperatorResults on the sandbox's Twilio server. */
export function registerIntelligence(app: FastifyInstance, transcripts: () => SandboxTranscript[], world: SandboxWorld): void {
  const find = (sid: string) => transcripts().find((t) => t.sid === sid);
  const notFound = (reply: FastifyReply, path: string): FastifyReply => reply.code(404).send(twilioError(404, `The requested resource ${path} was not found`));

  app.get<{ Params: { sid: string } }>('/v2/Transcripts/:sid', routeConfig('transcript'), async (request, reply) => {
    const t = find(request.params.sid);
    if (!t) return notFound(reply, `/Transcripts/${request.params.sid}`);
    const url = `${INTELLIGENCE_HOST}/v2/Transcripts/${t.sid}`;
    return {
      account_sid: world.accountSid,
      service_sid: t.serviceSid,
      sid: t.sid,
      date_created: t.dateCreated,
      date_updated: t.dateCreated,
      status: 'completed',
      channel: {
        media_properties: { source_sid: `RE${hex32(`recording:${t.sid}`)}` },
        participants: [
          { role: 'Customer', channel_participant: 1, media_participant_id: t.customer.phone, user_id: t.customer.userId, full_name: t.customer.name },
          { role: 'Agent', channel_participant: 2, media_participant_id: world.smsNumber, user_id: null, full_name: null },
        ],
      },
      data_logging: false,
      language_code: 'en-US',
      customer_key: null,
      media_start_time: t.dateCreated,
      duration: 312,
      url,
      redaction: true,
      encryption_credential_sid: null,
      links: {
        sentences: `${url}/Sentences`,
        media: `${url}/Media`,
        operator_results: `${url}/OperatorResults`,
        encrypted_sentences: `${url}/Sentences/Encrypted`,
        encrypted_operator_results: `${url}/OperatorResults/Encrypted`,
      },
    };
  });

  app.get<{ Params: { sid: string } }>('/v2/Transcripts/:sid/OperatorResults', routeConfig('operator_results'), async (request, reply) => {
    const t = find(request.params.sid);
    if (!t) return notFound(reply, `/Transcripts/${request.params.sid}/OperatorResults`);
    const size = Math.min(1000, Math.max(1, Number(queryValue(request.query, 'PageSize') ?? 50) || 50));
    const url = `${INTELLIGENCE_HOST}/v2/Transcripts/${t.sid}/OperatorResults?PageSize=${size}&Page=0`;
    return {
      operator_results: t.results.slice(0, size),
      meta: { page: 0, page_size: size, first_page_url: url, previous_page_url: null, url, next_page_url: null, key: 'operator_results' },
    };
  });
}
