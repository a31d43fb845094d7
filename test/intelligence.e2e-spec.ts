import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { intelligenceDemo, type SandboxTranscript } from '../src/sandbox/intelligence.server';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';
import { eventually } from './support/eventually';
import { subscribeToChanges } from './support/graphql-ws-client';
import { webhookOutcomes } from './support/metrics';
import { postForm, postJson, PUBLIC_BASE_URL } from './support/twilio-callers';

/**
 * Conversational Intelligence end to end: the Intelligence Service's webhook announces a
 * transcript, the service reads its operator results from (the sandbox's) Twilio, and the
 * customer's journey, signals, routing and open subscriptions show them.
 */

const RULES = `
defaults: { priority_reason: "none" }
rules:
  - name: unhappy_caller
    when: 'signals.lastSentiment == "negative"'
    set:
      priority_reason: '"negative_sentiment"'
  - name: wants_a_manager
    when: 'signals.escalationRequested24h'
    set:
      escalate: 'true'
`;

const CONTEXT = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
  profileId
  signals { lastSentiment lastSentimentAt escalationRequested24h doNotContact }
  journey(first: 5) { kind title insight { transcriptSid operator kind label text } }
  routing { attributes matchedRules } } }`;
interface Answer {
  customerContext: {
    profileId: string;
    signals: { lastSentiment: string | null; lastSentimentAt: string | null; escalationRequested24h: boolean; doNotContact: boolean };
    journey: Array<{
      kind: string;
      title: string;
      insight: { transcriptSid: string; operator: string; kind: string; label: string | null; text: string | null } | null;
    }>;
    routing: { attributes: Record<string, unknown>; matchedRules: string[] };
  };
}
interface Change {
  profileId: string;
  parts: string[];
  source: string;
  insights: Array<{ transcriptSid: string; kind: string; label: string | null }> | null;
}

describe('Conversational Intelligence (e2e)', () => {
  let sandbox: Sandbox;
  let h: Harness;
  /** Another instance on the same Redis, with the example access policy. */
  let guarded: Harness;
  let demo: SandboxTranscript;
  let dir: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-intel-'));
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    sandbox = await startSandbox({ customers: 20, quiet: true });
    demo = intelligenceDemo(sandbox.data, { accountSid: sandbox.credentials.accountSid }, 0) as SandboxTranscript;
    const keyPrefix = `intel${process.pid}:`;
    h = await startHarness({ sandbox, keyPrefix, env: { PUBLIC_BASE_URL, ROUTING_RULES_FILE: join(dir, 'rules.yaml') } });
    guarded = await startHarness({ sandbox, keyPrefix, env: { ACCESS_POLICY_FILE: join(__dirname, '..', 'config', 'access-policy.example.yaml') } });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await h.close();
    await guarded.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The webhook body as the Intelligence Service sends it. */
  const announcement = (transcriptSid = demo.sid) => ({
    account_sid: sandbox.credentials.accountSid,
    service_sid: demo.serviceSid,
    transcript_sid: transcriptSid,
    customer_key: null,
    event_type: 'voice_intelligence_transcript_available',
  });
  const context = async () => {
    const answer = await h.gql<Answer>(CONTEXT, { lookup: { userId: demo.customer.userId } });
    expect(answer.errors).toBeUndefined();
    return answer.data!.customerContext;
  };
  /** A subscription to the demo customer, registered (a sentinel change reached it). */
  const subscribe = async (profileId: string) => {
    const pushes = await subscribeToChanges<Change>(h, {
      token: sandbox.credentials.agentToken,
      profileId,
      selection: 'profileId parts source insights { transcriptSid kind label }',
    });
    clients.push(pushes.client);
    return pushes.received;
  };

  it('refuses an announcement that is not signed by the account, and changes nothing', async () => {
    const response = await postJson(h, '/webhooks/intelligence', announcement(), 'not-the-auth-token');
    expect(response.status).toBe(403);
    const before = await context();
    expect(before.signals).toEqual({ lastSentiment: null, lastSentimentAt: null, escalationRequested24h: false, doNotContact: false });
    expect(before.journey.some((j) => j.kind === 'intelligence')).toBe(false);
    expect(before.routing.matchedRules).not.toContain('unhappy_caller');
  });

  it('answers a malformed transcript sid with a 400', async () => {
    const response = await postJson(h, '/webhooks/intelligence', { ...announcement(), transcript_sid: 'GT-not-a-sid' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });

  it('answers 502 while Twilio cannot be read, and remembers nothing: the retry is applied (next test)', async () => {
    sandbox.faults.add({ service: 'twilio', route: 'operator_results', status: 503 });
    try {
      const response = await postJson(h, '/webhooks/intelligence', announcement());
      expect(response.status).toBe(502);
    } finally {
      sandbox.faults.clear();
    }
    expect((await context()).journey.some((j) => j.kind === 'intelligence')).toBe(false);
  });

  it('pushes the results to an open subscription, and journey, signals and routing show them', async () => {
    const { profileId } = await context();
    const received = await subscribe(profileId);

    const response = await postJson(h, '/webhooks/intelligence', announcement());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: 'applied' });

    const [pushed] = await eventually(
      () => received.filter((c) => c.parts.includes('intelligence')),
      (found) => found.length > 0,
      5_000,
      'the results push',
    );
    expect(pushed).toMatchObject({ profileId, parts: ['intelligence'], source: 'intelligence' });
    expect(pushed.insights).toEqual([
      { transcriptSid: demo.sid, kind: 'sentiment', label: 'negative' },
      { transcriptSid: demo.sid, kind: 'escalation', label: 'true' },
      { transcriptSid: demo.sid, kind: 'summary', label: null },
    ]);

    const after = await context();
    expect(after.signals).toMatchObject({ lastSentiment: 'negative', escalationRequested24h: true, doNotContact: false });
    expect(after.signals.lastSentimentAt).not.toBeNull();
    const insights = after.journey.filter((j) => j.kind === 'intelligence');
    expect(insights.map((j) => j.title)).toEqual(expect.arrayContaining(['Sentiment Analysis · negative', 'Escalation Request · true']));
    expect(insights.find((j) => j.insight?.kind === 'summary')?.insight?.text).toMatch(/manager/);
    expect(after.routing.matchedRules).toEqual(expect.arrayContaining(['unhappy_caller', 'wants_a_manager']));
    expect(after.routing.attributes).toMatchObject({ customer_context: { priority_reason: 'negative_sentiment', escalate: true } });
  });

  it('reads a summary like a message body: a role the access policy does not name gets no text', async () => {
    const query = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { journey(first: 10) { kind insight { kind label text } } } }`;
    type Journey = { customerContext: { journey: Array<{ kind: string; insight: { kind: string; label: string | null; text: string | null } | null }> } };
    const summaryAs = async (token: string) => {
      const seen = await guarded.gql<Journey>(query, { lookup: { userId: demo.customer.userId } }, { authorization: `Bearer ${token}` });
      expect(seen.errors).toBeUndefined();
      return seen.data!.customerContext.journey.find((j) => j.insight?.kind === 'summary')!.insight!;
    };
    expect((await summaryAs(sandbox.credentials.supervisorToken)).text).toMatch(/manager/);
    const stranger = await summaryAs(sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles: ['wfo.data_analyst'] }));
    expect(stranger).toEqual({ kind: 'summary', label: null, text: null });
  });

  it('takes a repeated delivery of the same transcript once', async () => {
    const before = await webhookOutcomes(h, 'intelligence');
    const response = await postJson(h, '/webhooks/intelligence', announcement());
    expect(await response.json()).toEqual({ outcome: 'duplicate' });
    expect(await webhookOutcomes(h, 'intelligence')).toEqual({ ...before, duplicate: (before.duplicate ?? 0) + 1 });
  });

  it('answers a transcript Twilio does not know without changing anyone', async () => {
    const response = await postJson(h, '/webhooks/intelligence', announcement(`GT${'ab'.repeat(16)}`));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: 'unknown_transcript' });
    // The same announcement form-encoded, as Twilio's other webhooks are.
    const { account_sid, service_sid, transcript_sid, event_type } = announcement(`GT${'cd'.repeat(16)}`);
    const fields = { account_sid, service_sid, transcript_sid, event_type };
    const form = await postForm(h, '/webhooks/intelligence', fields);
    expect(await form.json()).toEqual({ outcome: 'unknown_transcript' });
    expect((await postForm(h, '/webhooks/intelligence', fields, 'forged')).status).toBe(403);
  });
});
