import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { openApi, TWILIO_OAI_FIXTURES } from '../../test/support/twilio-oai';
import { startSandbox, type Sandbox, type SandboxCustomer } from './sandbox';

// Twilio's OpenAPI documents, vendored with their licence (test/fixtures/twilio-oai/README.md).
const OAI_DIR = process.env.TWILIO_OAI_DIR ?? TWILIO_OAI_FIXTURES;

type Json = Record<string, unknown>;

describe('Twilio', () => {
  let sandbox: Sandbox;
  let vip: SandboxCustomer;
  let long: SandboxCustomer;
  let conversations: ReturnType<typeof openApi>;
  let taskrouter: ReturnType<typeof openApi>;

  const auth = (): string => 'Basic ' + Buffer.from(`${sandbox.credentials.accountSid}:${sandbox.credentials.authToken}`).toString('base64');
  async function call<T = Json>(
    method: string,
    path: string,
    options: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; authorization?: string } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { authorization: options.authorization ?? auth(), ...options.headers };
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(`${sandbox.twilioUrl}${path}`, { method, headers, body });
    return { status: response.status, body: (await response.json()) as T, headers: response.headers };
  }
  const smsSids = (c: SandboxCustomer): string[] =>
    c.conversations
      .filter((conv) => conv.address === c.phone)
      .map((conv) => conv.sid)
      .sort();
  /** The path of an absolute Twilio URL, as the service's httpClient would rewrite it. */
  const pathOf = (url: string): string => url.replace(/^https:\/\/[a-z]+\.twilio\.com/, '');
  function expectValid(validate: ValidateFunction, body: unknown): void {
    const valid = validate(body);
    expect(valid ? [] : validate.errors).toEqual([]);
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 60, quiet: true });
    vip = sandbox.data.byArchetype('vip');
    long = sandbox.data.byArchetype('long_history');
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('uri-map', true);
    conversations = openApi(ajv, join(OAI_DIR, 'twilio_conversations_v1.json'), 'conversations');
    taskrouter = openApi(ajv, join(OAI_DIR, 'twilio_taskrouter_v1.json'), 'taskrouter');
  });
  afterAll(() => sandbox.close());

  it('checks the tightened schemas catch a missing or extra field', async () => {
    const validate = conversations.response('/v1/Conversations/{Sid}', 'get', 200);
    const { body } = await call('GET', `/v1/Conversations/${vip.conversations[0].sid}`);
    expectValid(validate, body);
    const { state: _state, ...missing } = body;
    expect(validate(missing)).toBe(false);
    expect(validate({ ...body, extra: 1 })).toBe(false);
    expect(validate({ ...body, date_created: 'yesterday' })).toBe(false);
  });

  it('answers 401 with the Twilio error body for wrong credentials', async () => {
    const { status, body } = await call('GET', `/v1/Conversations/${vip.conversations[0].sid}`, {
      authorization: 'Basic ' + Buffer.from(`${sandbox.credentials.accountSid}:nope`).toString('base64'),
    });
    expect(status).toBe(401);
    expect(body).toEqual({ code: 20003, message: expect.any(String), more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
  });

  it('answers 404 with the Twilio error body for unknown resources', async () => {
    const workspace = sandbox.credentials.workspaceSid;
    const paths = [
      `/v1/Conversations/CH${'0'.repeat(32)}`,
      `/v1/Conversations/CH${'0'.repeat(32)}/Messages`,
      `/v1/Workspaces/${workspace}/Tasks/WT${'0'.repeat(32)}`,
      `/v1/Workspaces/WS${'0'.repeat(32)}/Workers/${sandbox.data.agents[0].workerSid}/Reservations`,
      `/v1/Workspaces/${workspace}/Workers/WK${'0'.repeat(32)}/Reservations`,
      '/v1/Nothing',
    ];
    for (const path of paths) {
      const { status, body } = await call('GET', path);
      expect({ path, status, body }).toEqual({
        path,
        status: 404,
        body: { code: 20404, message: expect.any(String), more_info: 'https://www.twilio.com/docs/errors/20404', status: 404 },
      });
    }
  });

  describe('Conversations', () => {
    it('lists the conversations of an address, sorted by sid, valid against the OpenAPI document', async () => {
      const validate = conversations.response('/v1/ParticipantConversations', 'get', 200);
      const { status, body } = await call<{ conversations: Json[]; meta: Json }>(
        'GET',
        `/v1/ParticipantConversations?Address=${encodeURIComponent(vip.phone as string)}`,
      );
      expect(status).toBe(200);
      expectValid(validate, body);
      expect(body.conversations.map((c) => c.conversation_sid)).toEqual(vip.conversations.map((c) => c.sid).sort());
      expect(body.conversations[0]).toMatchObject({
        participant_messaging_binding: { type: 'sms', address: vip.phone, proxy_address: expect.stringMatching(/^\+1/) },
        participant_identity: null,
      });
      expect(body.meta).toEqual({
        page: 0,
        page_size: 50,
        first_page_url: `https://conversations.twilio.com/v1/ParticipantConversations?Address=${encodeURIComponent(vip.phone as string)}&PageSize=50&Page=0`,
        previous_page_url: null,
        url: `https://conversations.twilio.com/v1/ParticipantConversations?Address=${encodeURIComponent(vip.phone as string)}&PageSize=50&Page=0`,
        next_page_url: null,
        key: 'conversations',
      });
    });

    it('pages the 54 SMS conversations of long_history in 2 pages with next_page_url and previous_page_url', async () => {
      const validate = conversations.response('/v1/ParticipantConversations', 'get', 200);
      const first = await call<{ conversations: Json[]; meta: { next_page_url: string; previous_page_url: string | null } }>(
        'GET',
        `/v1/ParticipantConversations?Address=${encodeURIComponent(long.phone as string)}`,
      );
      expectValid(validate, first.body);
      expect(first.body.conversations).toHaveLength(50);
      expect(first.body.meta.next_page_url).toMatch(
        /^https:\/\/conversations\.twilio\.com\/v1\/ParticipantConversations\?Address=%2B\d+&PageSize=50&Page=1&PageToken=PT/,
      );
      const second = await call<{ conversations: Json[]; meta: { next_page_url: string | null; previous_page_url: string } }>(
        'GET',
        pathOf(first.body.meta.next_page_url),
      );
      expectValid(validate, second.body);
      expect(second.body.conversations).toHaveLength(4);
      expect(second.body.meta.next_page_url).toBeNull();
      const sids = [...first.body.conversations, ...second.body.conversations].map((c) => c.conversation_sid);
      expect(sids).toEqual(smsSids(long));
      const back = await call<{ conversations: Json[] }>('GET', pathOf(second.body.meta.previous_page_url));
      expect(back.body.conversations.map((c) => c.conversation_sid)).toEqual(sids.slice(0, 50));
    });

    it("lists WhatsApp conversations by their whatsapp: address and an agent's by Identity", async () => {
      const validate = conversations.response('/v1/ParticipantConversations', 'get', 200);
      const whatsapp = sandbox.data.byArchetype('whatsapp_only');
      const byAddress = await call<{ conversations: Json[] }>(
        'GET',
        `/v1/ParticipantConversations?Address=${encodeURIComponent(`whatsapp:${whatsapp.phone}`)}`,
      );
      expectValid(validate, byAddress.body);
      expect(byAddress.body.conversations).toHaveLength(whatsapp.conversations.length);
      expect(byAddress.body.conversations[0].participant_messaging_binding).toMatchObject({ type: 'whatsapp', address: `whatsapp:${whatsapp.phone}` });
      // the plain number has no SMS conversations
      expect(
        (await call<{ conversations: Json[] }>('GET', `/v1/ParticipantConversations?Address=${encodeURIComponent(whatsapp.phone as string)}`)).body
          .conversations,
      ).toEqual([]);

      const agent = vip.conversations[0].agent;
      const byIdentity = await call<{ conversations: Json[] }>(
        'GET',
        `/v1/ParticipantConversations?Identity=${encodeURIComponent(agent.identity as string)}&PageSize=5`,
      );
      expectValid(validate, byIdentity.body);
      expect(byIdentity.body.conversations).toHaveLength(5);
      expect(byIdentity.body.conversations[0]).toMatchObject({
        participant_identity: agent.identity,
        participant_user_sid: expect.stringMatching(/^US/),
        participant_messaging_binding: null,
      });
    });

    it('returns an empty page for an unknown address, and 400 without Address or Identity', async () => {
      const empty = await call<{ conversations: Json[]; meta: Json }>(
        'GET',
        `/v1/ParticipantConversations?Address=${encodeURIComponent(sandbox.data.unknownPhone())}`,
      );
      expectValid(conversations.response('/v1/ParticipantConversations', 'get', 200), empty.body);
      expect(empty.body.conversations).toEqual([]);
      const missing = await call('GET', '/v1/ParticipantConversations');
      expect(missing).toMatchObject({ status: 400, body: { code: 20001, status: 400 } });
    });

    it('clamps PageSize to 50 and rejects a bad page token', async () => {
      const { body } = await call<{ conversations: Json[]; meta: Json }>(
        'GET',
        `/v1/ParticipantConversations?Address=${encodeURIComponent(long.phone as string)}&PageSize=500`,
      );
      expect(body.conversations).toHaveLength(50);
      expect(body.meta.page_size).toBe(50);
      expect((await call('GET', `/v1/ParticipantConversations?Address=${encodeURIComponent(long.phone as string)}&PageToken=PTbogus`)).status).toBe(400);
    });

    it('fetches a conversation', async () => {
      const conversation = vip.conversations[2];
      const { status, body } = await call('GET', `/v1/Conversations/${conversation.sid}`);
      expect(status).toBe(200);
      expectValid(conversations.response('/v1/Conversations/{Sid}', 'get', 200), body);
      expect(body).toMatchObject({
        sid: conversation.sid,
        state: conversation.state,
        date_created: conversation.dateCreated,
        url: `https://conversations.twilio.com/v1/Conversations/${conversation.sid}`,
      });
      expect(body.date_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('lists messages ascending by default, descending with Order=desc, with paging', async () => {
      const validate = conversations.response('/v1/Conversations/{ConversationSid}/Messages', 'get', 200);
      const conversation = vip.conversations[0];
      const asc = await call<{ messages: Json[]; meta: Json }>('GET', `/v1/Conversations/${conversation.sid}/Messages`);
      expectValid(validate, asc.body);
      expect(asc.body.messages.map((m) => m.index)).toEqual(conversation.messages.map((m) => m.index));
      expect(asc.body.messages[0]).toMatchObject({ author: vip.phone, participant_sid: conversation.customer.sid, body: conversation.messages[0].body });
      expect(asc.body.messages[1]).toMatchObject({ author: conversation.agent.identity, participant_sid: conversation.agent.sid });

      const desc = await call<{ messages: Json[]; meta: { next_page_url: string } }>(
        'GET',
        `/v1/Conversations/${conversation.sid}/Messages?Order=desc&PageSize=2`,
      );
      expectValid(validate, desc.body);
      const newestFirst = [...conversation.messages].reverse().map((m) => m.sid);
      expect(desc.body.messages.map((m) => m.sid)).toEqual(newestFirst.slice(0, 2));
      expect(desc.body.meta.next_page_url).toContain('Order=desc');
      const next = await call<{ messages: Json[] }>('GET', pathOf(desc.body.meta.next_page_url));
      expect(next.body.messages.map((m) => m.sid)).toEqual(newestFirst.slice(2, 4));
    });

    it('shows added messages and bumps date_updated', async () => {
      const conversation = vip.conversations[1];
      const added = sandbox.data.addMessage(conversation.sid, { author: conversation.agent.identity as string, body: 'Following up' });
      const { body } = await call<{ messages: Json[] }>('GET', `/v1/Conversations/${conversation.sid}/Messages?Order=desc&PageSize=1`);
      expect(body.messages[0]).toMatchObject({ sid: added.sid, body: 'Following up', participant_sid: conversation.agent.sid });
      expect((await call('GET', `/v1/Conversations/${conversation.sid}`)).body.date_updated).toBe(added.dateCreated);
    });

    it('lists participants: the customer with a messaging binding, the agent with an identity', async () => {
      const conversation = vip.conversations[0];
      const { body } = await call<{ participants: Json[] }>('GET', `/v1/Conversations/${conversation.sid}/Participants`);
      expectValid(conversations.response('/v1/Conversations/{ConversationSid}/Participants', 'get', 200), body);
      expect(body.participants).toEqual([
        expect.objectContaining({
          sid: conversation.customer.sid,
          identity: null,
          messaging_binding: { type: 'sms', address: vip.phone, proxy_address: expect.any(String) },
        }),
        expect.objectContaining({ sid: conversation.agent.sid, identity: conversation.agent.identity, messaging_binding: null }),
      ]);
    });
  });

  describe('TaskRouter', () => {
    const tasksPath = (): string => `/v1/Workspaces/${sandbox.credentials.workspaceSid}/Tasks`;

    it('fetches a task with an ETag', async () => {
      const task = vip.tasks[0];
      const { status, body, headers } = await call('GET', `${tasksPath()}/${task.sid}`);
      expect(status).toBe(200);
      expectValid(taskrouter.response('/v1/Workspaces/{WorkspaceSid}/Tasks/{Sid}', 'get', 200), body);
      expect(headers.get('etag')).toBe(String(task.version));
      expect(JSON.parse(body.attributes as string)).toMatchObject({ from: vip.phone, channelType: 'sms', conversationSid: expect.stringMatching(/^CH/) });
    });

    it('updates with a matching If-Match, bumps the version and records the update; a stale ETag gets 412', async () => {
      const task = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.tasks.length)!.tasks[0];
      const fetched = await call('GET', `${tasksPath()}/${task.sid}`);
      const etag = fetched.headers.get('etag') as string;
      const attributes = JSON.stringify({ ...JSON.parse(fetched.body.attributes as string), customer_context: { vip: false } });

      const updated = await call('POST', `${tasksPath()}/${task.sid}`, { form: { Attributes: attributes }, headers: { 'If-Match': etag } });
      expect(updated.status).toBe(200);
      expectValid(taskrouter.response('/v1/Workspaces/{WorkspaceSid}/Tasks/{Sid}', 'post', 200), updated.body);
      expect(updated.body.attributes).toBe(attributes);
      expect(Number(updated.headers.get('etag'))).toBe(Number(etag) + 1);

      const stale = await call('POST', `${tasksPath()}/${task.sid}`, { form: { Attributes: '{}' }, headers: { 'If-Match': etag } });
      expect(stale).toMatchObject({ status: 412, body: { code: 20001, status: 412, more_info: expect.any(String) } });

      // quoted ETags, and updates without If-Match, apply too
      expect((await call('POST', `${tasksPath()}/${task.sid}`, { form: { Priority: '5' }, headers: { 'If-Match': `"${Number(etag) + 1}"` } })).status).toBe(
        200,
      );
      expect((await call('POST', `${tasksPath()}/${task.sid}`, { form: { AssignmentStatus: 'canceled', Reason: 'test' } })).status).toBe(200);

      const state = sandbox.data.task(task.sid)!;
      expect(state).toMatchObject({ version: Number(etag) + 3, assignmentStatus: 'canceled', attributes: JSON.parse(attributes) });
      expect(state.updates.map((u) => [u.version, u.ifMatch])).toEqual([
        [Number(etag) + 1, etag],
        [Number(etag) + 2, `"${Number(etag) + 1}"`],
        [Number(etag) + 3, null],
      ]);
      expect(sandbox.data.taskUpdates().filter((u) => u.taskSid === task.sid)).toEqual(state.updates);
    });

    it('rejects attributes that are not a JSON object and unknown statuses', async () => {
      const task = vip.tasks[0];
      const forms: Array<Record<string, string>> = [{ Attributes: 'not json' }, { Attributes: '[1]' }, { AssignmentStatus: 'done' }];
      for (const form of forms) {
        expect((await call('POST', `${tasksPath()}/${task.sid}`, { form })).status).toBe(400);
      }
      expect(sandbox.data.task(task.sid)?.version).toBe(0);
    });

    it('creates a task and lists tasks with a status filter', async () => {
      const created = await call('POST', tasksPath(), {
        form: { Attributes: JSON.stringify({ from: '+14155550123' }), TaskChannel: 'chat', WorkflowSid: 'WW' + '0'.repeat(32) },
      });
      expect(created.status).toBe(400); // not the workspace's workflow
      const ok = await call('POST', tasksPath(), { form: { Attributes: JSON.stringify({ from: '+14155550123' }), TaskChannel: 'chat' } });
      expect(ok.status).toBe(201);
      expectValid(taskrouter.response('/v1/Workspaces/{WorkspaceSid}/Tasks', 'post', 201), ok.body);
      expect(ok.headers.get('etag')).toBe('0');
      expect(sandbox.data.task(ok.body.sid as string)?.attributes).toEqual({ from: '+14155550123' });

      const validate = taskrouter.response('/v1/Workspaces/{WorkspaceSid}/Tasks', 'get', 200);
      const page = await call<{ tasks: Json[]; meta: { next_page_url: string } }>('GET', `${tasksPath()}?PageSize=10&AssignmentStatus=pending`);
      expectValid(validate, page.body);
      expect(page.body.tasks).toHaveLength(10);
      expect(page.body.tasks.every((t) => t.assignment_status === 'pending')).toBe(true);
      expect(page.body.meta.next_page_url).toMatch(
        /^https:\/\/taskrouter\.twilio\.com\/v1\/Workspaces\/WS[0-9a-f]{32}\/Tasks\?AssignmentStatus=pending&PageSize=10&Page=1&PageToken=/,
      );
      const rest = await call<{ tasks: Json[] }>('GET', pathOf(page.body.meta.next_page_url));
      expect(rest.body.tasks.length).toBeGreaterThan(0);
    });

    it('answers 404 for another workspace', async () => {
      expect((await call('GET', `/v1/Workspaces/WS${'0'.repeat(32)}/Tasks/${vip.tasks[0].sid}`)).status).toBe(404);
    });

    describe('worker reservations', () => {
      const reservationsPath = (workerSid: string): string => `/v1/Workspaces/${sandbox.credentials.workspaceSid}/Workers/${workerSid}/Reservations`;
      /** Seeded tasks no other test here touches (the first two regular customers' are updated above). */
      const openTasks = (n: number, from: number): string[] => {
        const sids = sandbox.data.customers
          .filter((c) => c.archetype === 'regular' && c.tasks.length)
          .slice(from, from + n)
          .map((c) => c.tasks[0].sid);
        if (sids.length < n) throw new Error(`the sandbox has fewer than ${from + n} regular customers with a task`);
        return sids;
      };

      it("lists a worker's reservations by ReservationStatus, oldest first, paged, valid against the OpenAPI document", async () => {
        const validate = taskrouter.response('/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations', 'get', 200);
        const [worker, other] = [sandbox.data.agents[2], sandbox.data.agents[3]];
        const tasks = openTasks(5, 4);
        const accepted = [tasks[0], tasks[1], tasks[2]].map((sid) => sandbox.data.reserve(sid, worker.workerSid, 'accepted'));
        const pending = sandbox.data.reserve(tasks[3], worker.workerSid, 'pending');
        sandbox.data.reserve(tasks[4], other.workerSid, 'accepted');

        const first = await call<{ reservations: Json[]; meta: { next_page_url: string; previous_page_url: string | null } }>(
          'GET',
          `${reservationsPath(worker.workerSid)}?ReservationStatus=accepted&PageSize=2`,
        );
        expect(first.status).toBe(200);
        expectValid(validate, first.body);
        expect(first.body.reservations).toEqual(
          accepted.slice(0, 2).map((r) => ({
            account_sid: sandbox.credentials.accountSid,
            date_created: r.dateCreated,
            date_updated: r.dateUpdated,
            reservation_status: 'accepted',
            sid: r.sid,
            task_sid: r.taskSid,
            worker_name: worker.identity,
            worker_sid: worker.workerSid,
            workspace_sid: sandbox.credentials.workspaceSid,
            url: `https://taskrouter.twilio.com${reservationsPath(worker.workerSid)}/${r.sid}`,
            links: {
              task: `https://taskrouter.twilio.com/v1/Workspaces/${sandbox.credentials.workspaceSid}/Tasks/${r.taskSid}`,
              worker: `https://taskrouter.twilio.com/v1/Workspaces/${sandbox.credentials.workspaceSid}/Workers/${worker.workerSid}`,
              workspace: `https://taskrouter.twilio.com/v1/Workspaces/${sandbox.credentials.workspaceSid}`,
            },
          })),
        );
        expect(first.body.reservations[0].sid).toMatch(/^WR[0-9a-f]{32}$/);
        expect(first.body.meta.previous_page_url).toBeNull();
        expect(first.body.meta.next_page_url).toMatch(
          new RegExp(`^https://taskrouter\\.twilio\\.com${reservationsPath(worker.workerSid)}\\?ReservationStatus=accepted&PageSize=2&Page=1&PageToken=PT`),
        );
        const second = await call<{ reservations: Json[]; meta: { next_page_url: string | null; previous_page_url: string } }>(
          'GET',
          pathOf(first.body.meta.next_page_url),
        );
        expectValid(validate, second.body);
        expect(second.body.reservations.map((r) => r.sid)).toEqual([accepted[2].sid]);
        expect(second.body.meta.next_page_url).toBeNull();
        expect((await call<{ reservations: Json[] }>('GET', pathOf(second.body.meta.previous_page_url))).body.reservations.map((r) => r.sid)).toEqual(
          accepted.slice(0, 2).map((r) => r.sid),
        );

        const pendingOnly = await call<{ reservations: Json[] }>('GET', `${reservationsPath(worker.workerSid)}?ReservationStatus=pending`);
        expect(pendingOnly.body.reservations.map((r) => r.sid)).toEqual([pending.sid]);
        const every = await call<{ reservations: Json[]; meta: Json }>('GET', reservationsPath(worker.workerSid));
        expectValid(validate, every.body);
        expect(every.body.reservations.map((r) => r.task_sid)).toEqual(tasks.slice(0, 4));
        expect(every.body.meta).toMatchObject({
          page: 0,
          page_size: 50,
          key: 'reservations',
          url: `https://taskrouter.twilio.com${reservationsPath(worker.workerSid)}?PageSize=50&Page=0`,
        });
        const none = await call<{ reservations: Json[] }>('GET', `${reservationsPath(worker.workerSid)}?ReservationStatus=wrapping`);
        expectValid(validate, none.body);
        expect(none.body.reservations).toEqual([]);
      });

      it('moves a reservation through its statuses; the task follows, its ETag does not change', async () => {
        const worker = sandbox.data.agents[2];
        const [taskSid] = openTasks(1, 10);
        const taskStatus = async (): Promise<unknown> => (await call('GET', `${tasksPath()}/${taskSid}`)).body.assignment_status;
        const listed = async (status: string): Promise<unknown[]> =>
          (await call<{ reservations: Json[] }>('GET', `${reservationsPath(worker.workerSid)}?ReservationStatus=${status}`)).body.reservations.map(
            (r) => r.task_sid,
          );

        const reservation = sandbox.data.reserve(taskSid, worker.workerSid, 'pending');
        expect(await taskStatus()).toBe('reserved');
        expect(await listed('pending')).toContain(taskSid);
        sandbox.data.setReservationStatus(reservation.sid, 'accepted');
        expect(await taskStatus()).toBe('assigned');
        expect(await listed('pending')).not.toContain(taskSid);
        expect(await listed('accepted')).toContain(taskSid);
        sandbox.data.setReservationStatus(reservation.sid, 'wrapping');
        expect(await taskStatus()).toBe('wrapping');
        const completed = sandbox.data.setReservationStatus(reservation.sid, 'completed');
        expect(completed).toMatchObject({ sid: reservation.sid, status: 'completed', taskSid, workerSid: worker.workerSid });
        expect(await taskStatus()).toBe('completed');
        expect(await listed('wrapping')).not.toContain(taskSid);
        expect(await listed('completed')).toContain(taskSid);
        expect(sandbox.data.reservations({ taskSid })).toEqual([completed]);
        expect(sandbox.data.task(taskSid)?.version).toBe(0);

        // A rejected offer puts the task back in the queue unless another worker still holds it.
        const [other] = openTasks(1, 11);
        const offer = sandbox.data.reserve(other, sandbox.data.agents[3].workerSid, 'pending');
        sandbox.data.setReservationStatus(offer.sid, 'rejected');
        expect(sandbox.data.task(other)?.assignmentStatus).toBe('pending');
      });

      it("is logged and failed as the 'worker_reservations' route, through the control API too", async () => {
        const path = `${reservationsPath(sandbox.data.agents[2].workerSid)}?ReservationStatus=accepted`;
        sandbox.calls.reset();
        const added = await fetch(`${sandbox.twilioUrl}/__sandbox/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ service: 'twilio', route: 'worker_reservations', status: 503, times: 1 }),
        });
        expect(added.status).toBe(204);
        expect(await call('GET', path)).toMatchObject({ status: 503, body: { code: 20500, status: 503 } });
        expect((await call('GET', path)).status).toBe(200);
        expect(sandbox.calls.log().map((c) => [c.route, c.status])).toEqual([
          ['worker_reservations', 503],
          ['worker_reservations', 200],
        ]);
      });

      it('refuses unknown tasks, workers and statuses', async () => {
        const worker = sandbox.data.agents[2];
        expect(() => sandbox.data.reserve(`WT${'0'.repeat(32)}`, worker.workerSid)).toThrow(/Unknown task/);
        expect(() => sandbox.data.reserve(vip.tasks[0].sid, `WK${'0'.repeat(32)}`)).toThrow(/Unknown worker/);
        expect(() => sandbox.data.reserve(vip.tasks[0].sid, worker.workerSid, 'done' as never)).toThrow(/Unknown reservation status/);
        expect(() => sandbox.data.setReservationStatus(`WR${'0'.repeat(32)}`, 'completed')).toThrow(/Unknown reservation/);
        expect(await call('GET', `${reservationsPath(worker.workerSid)}?ReservationStatus=done`)).toMatchObject({
          status: 400,
          body: { code: 20001, status: 400 },
        });
        expect((await call('GET', `${reservationsPath(worker.workerSid)}?PageToken=PTbogus`)).status).toBe(400);
      });
    });
  });

  describe('IAM token validation', () => {
    const validatePath = (): string => `/v1/Accounts/${sandbox.credentials.accountSid}/Tokens/validate`;

    it('validates the agent and supervisor tokens', async () => {
      const agent = await call('POST', validatePath(), { json: { token: sandbox.credentials.agentToken } });
      expect(agent).toMatchObject({ status: 200 });
      expect(agent.body).toEqual({
        valid: true,
        code: 0,
        message: null,
        expiration: expect.any(String),
        realm_user_id: expect.any(String),
        identity: sandbox.data.agents[0].identity,
        roles: ['agent'],
        worker_sid: sandbox.data.agents[0].workerSid,
        flex_instance_sid: expect.stringMatching(/^GO[0-9a-f]{32}$/),
        flex_user_sid: expect.stringMatching(/^FU[0-9a-f]{32}$/),
      });
      expect(Date.parse(agent.body.expiration as string)).toBeGreaterThan(Date.now());
      const supervisor = await call('POST', validatePath(), { json: { token: sandbox.credentials.supervisorToken } });
      expect(supervisor.body).toMatchObject({ valid: true, roles: ['supervisor'] });
    });

    it('says valid: false for unknown and expired tokens', async () => {
      const unknown = await call('POST', validatePath(), { json: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.x' } });
      expect(unknown).toMatchObject({
        status: 200,
        body: { valid: false, code: 20151, message: 'Token is invalid', identity: null, roles: null, worker_sid: null },
      });
      const expired = sandbox.issueToken({ identity: 'late@example.com', roles: ['agent'], expiresInSeconds: -1 });
      expect((await call('POST', validatePath(), { json: { token: expired } })).body).toMatchObject({ valid: false, code: 20151 });
    });

    it('validates issued tokens until they expire', async () => {
      const token = sandbox.issueToken({ identity: 'admin@example.com', roles: ['admin'], workerSid: null, expiresInSeconds: 60 });
      expect((await call('POST', validatePath(), { json: { token } })).body).toMatchObject({
        valid: true,
        identity: 'admin@example.com',
        roles: ['admin'],
        worker_sid: null,
      });
    });

    it('refuses another account in the path, wrong credentials and a missing token', async () => {
      expect((await call('POST', `/v1/Accounts/AC${'0'.repeat(32)}/Tokens/validate`, { json: { token: sandbox.credentials.agentToken } })).status).toBe(403);
      expect((await call('POST', validatePath(), { json: { token: sandbox.credentials.agentToken }, authorization: 'Basic eDp5' })).status).toBe(401);
      expect((await call('POST', validatePath(), { json: {} })).status).toBe(400);
    });
  });

  describe('with the official twilio SDK', () => {
    /** What the service does: rewrite https://{conversations,taskrouter,iam}.twilio.com to the sandbox, path kept. */
    function client(): twilio.Twilio {
      class SandboxRequestClient extends twilio.RequestClient {
        override request<TData>(opts: RequestClient.RequestOptions<TData>) {
          return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/[a-z]+\.twilio\.com/, sandbox.twilioUrl) });
        }
      }
      return twilio(sandbox.credentials.accountSid, sandbox.credentials.authToken, { httpClient: new SandboxRequestClient() });
    }

    it('pages ParticipantConversations through next_page_url', async () => {
      const list = await client().conversations.v1.participantConversations.list({ address: long.phone as string, pageSize: 50 });
      expect(list.map((c) => c.conversationSid)).toEqual(smsSids(long));
      expect(list[0].conversationDateCreated).toBeInstanceOf(Date);
    });

    it('reads messages newest first', async () => {
      const conversation = vip.conversations[2];
      const messages = await client().conversations.v1.conversations(conversation.sid).messages.list({ order: 'desc', limit: 3 });
      expect(messages.map((m) => m.index)).toEqual(
        [...conversation.messages]
          .reverse()
          .slice(0, 3)
          .map((m) => m.index),
      );
    });

    it('updates a task with the ETag from fetchWithHttpInfo and gets a 412 for a stale one', async () => {
      const task = sandbox.data.customers.filter((c) => c.archetype === 'regular' && c.tasks.length)[1].tasks[0];
      const context = client().taskrouter.v1.workspaces(sandbox.credentials.workspaceSid).tasks(task.sid);
      const fetched = await context.fetchWithHttpInfo();
      const etag = fetched.headers.etag;
      expect(etag).toBe(String(task.version));
      const updated = await context.updateWithHttpInfo({ attributes: JSON.stringify({ stamped: true }), ifMatch: etag });
      expect(updated.statusCode).toBe(200);
      expect(JSON.parse(updated.body.attributes)).toEqual({ stamped: true });
      await expect(context.update({ attributes: '{}', ifMatch: etag })).rejects.toMatchObject({ status: 412 });
    });

    it("lists only that worker's reservations in that status, as the service's strict access does", async () => {
      const [worker, other] = [sandbox.data.agents[4], sandbox.data.agents[5]];
      const tasks = sandbox.data.customers
        .filter((c) => c.archetype === 'regular' && c.tasks.length)
        .slice(14, 18)
        .map((c) => c.tasks[0].sid);
      const mine = [sandbox.data.reserve(tasks[0], worker.workerSid, 'accepted'), sandbox.data.reserve(tasks[1], worker.workerSid, 'accepted')];
      sandbox.data.reserve(tasks[2], worker.workerSid, 'pending');
      sandbox.data.setReservationStatus(sandbox.data.reserve(tasks[3], worker.workerSid, 'accepted').sid, 'completed');
      sandbox.data.reserve(tasks[3], other.workerSid, 'accepted');

      const reservations = client().taskrouter.v1.workspaces(sandbox.credentials.workspaceSid).workers(worker.workerSid).reservations;
      const accepted = await reservations.list({ reservationStatus: 'accepted' });
      expect(accepted.map((r) => [r.sid, r.taskSid, r.workerSid, r.reservationStatus])).toEqual(
        mine.map((r) => [r.sid, r.taskSid, worker.workerSid, 'accepted']),
      );
      expect(accepted[0].dateCreated).toBeInstanceOf(Date);
      expect(accepted[0].workerName).toBe(worker.identity);
      // Paged one by one through next_page_url, as with limit below the total
      expect((await reservations.list({ reservationStatus: 'accepted', pageSize: 1 })).map((r) => r.sid)).toEqual(mine.map((r) => r.sid));
      expect((await reservations.list({ reservationStatus: 'pending', limit: 50 })).map((r) => r.taskSid)).toEqual([tasks[2]]);
      expect(await reservations.list({ reservationStatus: 'wrapping' })).toEqual([]);
    });
  });
});
