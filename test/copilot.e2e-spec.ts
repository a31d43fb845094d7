import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { intelligenceDemo } from '../src/sandbox/intelligence.server';
import { interactionsDemo, type SandboxInteraction } from '../src/sandbox/interactions.server';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { eventually } from './support/eventually';
import { startHarness, type Harness } from './support/harness';
import { subscribeToChanges } from './support/graphql-ws-client';
import { webhookOutcomes } from './support/metrics';
import { postJson, PUBLIC_BASE_URL } from './support/twilio-callers';

/**
 * Agent Copilot wrap-up notes end to end: Copilot's webhook delivers a note, the service finds the
 * customer through the Flex Interaction it wraps up (on the sandbox's Twilio), keeps it, and the
 * journey, latestNote, signals, routing and open subscriptions show it.
 */

const RULES = `
defaults: { note_mood: "none" }
rules:
  - name: unhappy_last_time
    when: 'signals.lastNoteSentiment == "negative"'
    set:
      note_mood: '"negative"'
`;

const NOTE = 'sid interactionSid summary summaryWithheld sentiment disposition language event createdAt updatedAt';
const CONTEXT = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
  profileId
  latestNote { ${NOTE} }
  signals { lastNoteSentiment lastNoteAt lastSentiment }
  journey(first: 20) { kind title note { sid summary event } }
  routing { attributes matchedRules } } }`;
interface Note {
  sid: string;
  interactionSid: string;
  summary: string | null;
  summaryWithheld: boolean;
  sentiment: string | null;
  disposition: string | null;
  language: string | null;
  event: string;
  createdAt: string;
  updatedAt: string;
}
interface Answer {
  customerContext: {
    profileId: string;
    latestNote: Note | null;
    signals: { lastNoteSentiment: string | null; lastNoteAt: string | null; lastSentiment: string | null };
    journey: Array<{ kind: string; title: string; note: { sid: string; summary: string | null; event: string } | null }>;
    routing: { attributes: Record<string, unknown>; matchedRules: string[] };
  };
}
interface Change {
  profileId: string;
  parts: string[];
  source: string;
  note: { sid: string; summary: string | null; event: string } | null;
}

describe('Agent Copilot wrap-up notes (e2e)', () => {
  let sandbox: Sandbox;
  let h: Harness;
  /** Another instance on the same Redis, with the example access policy. */
  let guarded: Harness;
  let byConversation: SandboxInteraction;
  let byTask: SandboxInteraction;
  let dir: string;
  const clients: Client[] = [];
  const noteSid = `KQ${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-copilot-'));
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    sandbox = await startSandbox({ customers: 20, quiet: true });
    const world = { accountSid: sandbox.credentials.accountSid };
    [byConversation, byTask] = interactionsDemo(sandbox.data, world, intelligenceDemo(sandbox.data, world, 0)?.customer ?? null);
    const keyPrefix = `copilot${process.pid}:`;
    h = await startHarness({ sandbox, keyPrefix, env: { PUBLIC_BASE_URL, ROUTING_RULES_FILE: join(dir, 'rules.yaml') } });
    guarded = await startHarness({ sandbox, keyPrefix, env: { ACCESS_POLICY_FILE: join(__dirname, '..', 'config', 'access-policy.example.yaml') } });
  });
  afterAll(async () => {
    await Promise.all(clients.map(async (c) => c.dispose()));
    await h?.close();
    await guarded?.close();
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The webhook body as Copilot sends it (the fields of Twilio's example payload). */
  const delivery = (interaction: SandboxInteraction, fields: Record<string, unknown> = {}) => ({
    sid: noteSid,
    event_type: 'note_created',
    instance_sid: `GO${'1'.repeat(32)}`,
    interaction_sid: interaction.sid,
    channel_sid: interaction.channelSid,
    participant_sid: interaction.agentParticipantSid,
    profile_connect_sid: `YI${'2'.repeat(32)}`,
    summary: null,
    sentiment: null,
    disposition_code_sid: null,
    generated_summary: 'The customer asked for a refund of a late order and was told it would arrive tomorrow.',
    detected_language: 'en-US',
    generated_sentiment: 'negative',
    ...fields,
  });
  const context = async (lookup: Record<string, unknown> = { userId: byConversation.customer.userId }) => {
    const answer = await h.gql<Answer>(CONTEXT, { lookup });
    expect(answer.errors).toBeUndefined();
    return answer.data!.customerContext;
  };
  const post = async (body: unknown) => {
    const response = await postJson(h, '/webhooks/copilot', body);
    return { status: response.status, body: (await response.json()) as { outcome?: string; error?: { code: string; message: string } } };
  };

  it('refuses a note not signed by the account (403), and changes nothing', async () => {
    expect((await postJson(h, '/webhooks/copilot', delivery(byConversation), 'not-the-auth-token')).status).toBe(403);
    expect((await postJson(h, '/webhooks/copilot', delivery(byConversation), null)).status).toBe(403);
    const before = await context();
    expect(before.latestNote).toBeNull();
    expect(before.journey.some((j) => j.kind === 'note')).toBe(false);
  });

  it('answers a body that is not a note with a 400 naming the field', async () => {
    const before = await webhookOutcomes(h, 'copilot');
    const badSid = await post(delivery(byConversation, { interaction_sid: 'KD-not-a-sid' }));
    expect(badSid.status).toBe(400);
    expect(badSid.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^interaction_sid/) });
    const noSid = await post({ ...delivery(byConversation), sid: undefined });
    expect(noSid.status).toBe(400);
    const notText = await post(delivery(byConversation, { generated_summary: { html: '<b>' } }));
    expect(notText.status).toBe(400);
    expect((await post(delivery(byConversation, { event_type: 'note_deleted' }))).body).toEqual({ outcome: 'ignored' });
    // Counted by outcome: the ignored event once, the refused bodies (their 400s) not at all.
    expect(await webhookOutcomes(h, 'copilot')).toEqual({ ...before, ignored: (before.ignored ?? 0) + 1 });
  });

  it('answers a note on an Interaction Twilio does not know without changing anyone', async () => {
    const unknown = await post(delivery(byConversation, { interaction_sid: `KD${'ab'.repeat(16)}` }));
    expect(unknown).toEqual({ status: 200, body: { outcome: 'unknown_interaction' } });
  });

  it('pushes a new note to an open subscription, and journey, latestNote, signals and routing show it', async () => {
    const { profileId } = await context();
    // Resolves once the subscription is registered (a sentinel change reached it).
    const pushes = await subscribeToChanges<Change>(h, {
      token: sandbox.credentials.agentToken,
      profileId,
      selection: 'profileId parts source note { sid summary event }',
    });
    clients.push(pushes.client);

    expect(await post(delivery(byConversation))).toEqual({ status: 200, body: { outcome: 'applied' } });
    const pushed = await eventually(
      () => pushes.received.filter((c) => c.parts.includes('notes')),
      (notes) => notes.length > 0,
      5_000,
      'the note push',
    );
    expect(pushed[0]).toEqual({
      profileId,
      parts: ['notes'],
      source: 'copilot',
      note: { sid: noteSid, summary: expect.stringMatching(/refund/), event: 'note_created' },
    });

    const after = await context();
    expect(after.latestNote).toMatchObject({
      sid: noteSid,
      interactionSid: byConversation.sid,
      summary: expect.stringMatching(/refund/),
      summaryWithheld: false,
      sentiment: 'negative',
      language: 'en-US',
      event: 'note_created',
    });
    expect(after.signals.lastNoteSentiment).toBe('negative');
    expect(after.signals.lastNoteAt).toBe(after.latestNote!.createdAt);
    expect(after.journey.filter((j) => j.kind === 'note')).toEqual([
      { kind: 'note', title: 'Wrap-up note · negative', note: { sid: noteSid, summary: expect.stringMatching(/refund/), event: 'note_created' } },
    ]);
    expect(after.routing.matchedRules).toContain('unhappy_last_time');
    expect(after.routing.attributes).toMatchObject({ customer_context: { note_mood: 'negative' } });
  });

  it('replaces the note with its note_updated version; a redelivery or a late note_created changes nothing', async () => {
    const { latestNote: created } = await context();
    const updated = delivery(byConversation, { event_type: 'note_updated', summary: 'Refund issued; the customer is satisfied.', sentiment: 'positive' });
    expect(await post(updated)).toEqual({ status: 200, body: { outcome: 'applied' } });
    expect(await post(updated)).toEqual({ status: 200, body: { outcome: 'unchanged' } });
    expect(await post(delivery(byConversation))).toEqual({ status: 200, body: { outcome: 'unchanged' } });

    const after = await context();
    expect(after.latestNote).toMatchObject({
      sid: noteSid,
      summary: 'Refund issued; the customer is satisfied.',
      sentiment: 'positive',
      event: 'note_updated',
    });
    expect(after.latestNote!.createdAt).toBe(created!.createdAt);
    expect(after.journey.filter((j) => j.kind === 'note').map((j) => j.note)).toEqual([
      { sid: noteSid, summary: 'Refund issued; the customer is satisfied.', event: 'note_updated' },
    ]);
    expect(after.routing.matchedRules).not.toContain('unhappy_last_time');
  });

  it('reads a summary like a message body: a role the access policy does not name gets none, and is told it was withheld', async () => {
    const query = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { latestNote { sid summary summaryWithheld sentiment } } }`;
    type Latest = { customerContext: { latestNote: { sid: string; summary: string | null; summaryWithheld: boolean; sentiment: string | null } | null } };
    const as = async (token: string) => {
      const seen = await guarded.gql<Latest>(query, { lookup: { userId: byConversation.customer.userId } }, { authorization: `Bearer ${token}` });
      expect(seen.errors).toBeUndefined();
      return seen.data!.customerContext.latestNote;
    };
    expect(await as(sandbox.credentials.supervisorToken)).toEqual({
      sid: noteSid,
      summary: expect.stringMatching(/Refund issued/),
      summaryWithheld: false,
      sentiment: 'positive',
    });
    const stranger = await as(sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles: ['wfo.data_analyst'] }));
    expect(stranger).toEqual({ sid: noteSid, summary: null, summaryWithheld: true, sentiment: 'positive' });
  });

  it('answers 502 while the Interactions API fails, keeping nothing, so that a redelivery applies', async () => {
    const sid = `KQ${randomBytes(16).toString('hex')}`;
    sandbox.faults.add({ service: 'twilio', route: 'interaction', status: 503 });
    try {
      const failed = await post({ ...delivery(byConversation), sid });
      expect(failed.status).toBe(502);
      expect(failed.body.error?.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      sandbox.faults.clear();
    }
    expect((await context()).journey.some((j) => j.note?.sid === sid)).toBe(false);
    expect(await post({ ...delivery(byConversation), sid })).toEqual({ status: 200, body: { outcome: 'applied' } });
    expect((await context()).journey.some((j) => j.note?.sid === sid)).toBe(true);
  });

  it('answers 502 while Segment cannot say who the customer is, keeping nothing, so that a redelivery applies', async () => {
    // The byTask customer is resolved nowhere before this test: the lookup reaches Segment.
    const sid = `KQ${randomBytes(16).toString('hex')}`;
    sandbox.faults.add({ service: 'segment', status: 503 });
    try {
      const failed = await post({ ...delivery(byTask), sid, participant_sid: null });
      expect(failed.status).toBe(502);
      expect(failed.body.error?.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      sandbox.faults.clear();
    }
    expect((await context({ taskSid: byTask.customer.tasks[0].sid })).journey.some((j) => j.note?.sid === sid)).toBe(false);
    expect(await post({ ...delivery(byTask), sid, participant_sid: null })).toEqual({ status: 200, body: { outcome: 'applied' } });
  });

  it("finds the customer through the channel's agent when the Interaction's routing names nobody", async () => {
    const sid = `KQ${randomBytes(16).toString('hex')}`;
    expect(await post({ ...delivery(byTask), sid, participant_sid: null })).toEqual({ status: 200, body: { outcome: 'applied' } });
    const task = await context({ taskSid: byTask.customer.tasks[0].sid });
    expect(task.latestNote).toMatchObject({ sid, interactionSid: byTask.sid });
  });
});
