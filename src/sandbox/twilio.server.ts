import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RESERVATION_STATUSES, type ReservationStatus, type SandboxStore, type TaskChanges } from './data';
import { FlexPluginService } from './flex-plugins.server';
import { intelligenceDemo, registerIntelligence } from './intelligence.server';
import { interactionsDemo, registerInteractions } from './interactions.server';
import type { FlexTokens } from './flex-tokens';
import type { SandboxMessage, SandboxParticipant, SandboxTask, TaskAssignmentStatus } from './seed';
import { basicCredentials, createServiceServer, queryValue, queryValues, routeConfig, type SandboxContext } from './service-server';
import { listBody, WireCache } from './wire-cache';
import {
  CONVERSATIONS_HOST,
  TASKROUTER_HOST,
  conversationWire,
  messageWire,
  participantConversationWire,
  participantWire,
  taskWire,
  twilioError,
  twilioPage,
  workerReservationWire,
  type PageRequest,
} from './twilio-wire';

/**
 * Twilio Conversations, TaskRouter and IAM on one server: the service's httpClient replaces
 * https://{conversations,taskrouter,iam}.twilio.com with this base and keeps the path.
 */

const TASK_STATUSES: readonly TaskAssignmentStatus[] = ['pending', 'reserved', 'assigned', 'canceled', 'completed', 'wrapping'];

type Form = Record<string, string>;
const JSON_TYPE = 'application/json; charset=utf-8';

const badRequest = (message: string): Error => Object.assign(new Error(message), { statusCode: 400 });

export function createTwilioServer(store: SandboxStore, tokens: FlexTokens, context: SandboxContext): FastifyInstance {
  const { world } = store;
  const app = createServiceServer({
    service: 'twilio',
    context,
    errorBody: twilioError,
    authorized: (request) => {
      const credentials = basicCredentials(request);
      return credentials?.user === world.accountSid && credentials.password === world.authToken;
    },
    requestId: { header: 'Twilio-Request-Id', next: () => 'RQ' + randomUUID().replace(/-/g, '') },
  });
  // twilio-node posts form-encoded parameters
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // A participant's ParticipantConversation changes with its conversation; messages never change.
  const participantConversationJson = new WireCache<SandboxParticipant>();
  const messageJson = new WireCache<SandboxMessage>();

  const notFound = (reply: FastifyReply, path: string): FastifyReply => reply.code(404).send(twilioError(404, `The requested resource ${path} was not found`));

  // --- Conversations -------------------------------------------------------------------------

  app.get('/v1/ParticipantConversations', routeConfig('participant_conversations'), async (request, reply) => {
    const address = queryValue(request.query, 'Address');
    const identity = queryValue(request.query, 'Identity');
    if ((address === undefined) === (identity === undefined)) throw badRequest('Either Identity or Address must be specified');
    const by = address !== undefined ? 'address' : 'identity';
    const value = (address ?? identity) as string;
    const all = store.conversationsOf(by, value);
    const page = twilioPage(
      all,
      (c) => c.sid,
      { url: `${CONVERSATIONS_HOST}/v1/ParticipantConversations`, filters: [[by === 'address' ? 'Address' : 'Identity', value]], key: 'conversations' },
      pageRequest(request.query, 50),
    );
    if (!page) throw badRequest('Invalid PageToken');
    const items = page.items.map((c) => {
      const participant = by === 'address' ? c.customer : c.agent;
      return participantConversationJson.json(participant, `${c.dateUpdated}|${c.state}|${c.friendlyName}|${c.attributes}`, () =>
        participantConversationWire(c, participant, world),
      );
    });
    return reply.type(JSON_TYPE).send(listBody('conversations', items, { meta: page.meta }));
  });

  app.get<{ Params: { sid: string } }>('/v1/Conversations/:sid', routeConfig('conversation'), async (request, reply) => {
    const conversation = store.conversation(request.params.sid);
    return conversation ? conversationWire(conversation, world) : notFound(reply, `/Conversations/${request.params.sid}`);
  });

  app.get<{ Params: { sid: string } }>('/v1/Conversations/:sid/Messages', routeConfig('messages'), async (request, reply) => {
    const conversation = store.conversation(request.params.sid);
    if (!conversation) return notFound(reply, `/Conversations/${request.params.sid}/Messages`);
    const order = queryValue(request.query, 'Order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw badRequest('Order must be asc or desc');
    const ordered = order === 'asc' ? conversation.messages : [...conversation.messages].reverse();
    const filters: Array<[string, string]> = order === 'desc' ? [['Order', 'desc']] : [];
    const page = twilioPage(
      ordered,
      (m) => m.sid,
      { url: `${CONVERSATIONS_HOST}/v1/Conversations/${conversation.sid}/Messages`, filters, key: 'messages' },
      pageRequest(request.query, 100),
    );
    if (!page) throw badRequest('Invalid PageToken');
    const items = page.items.map((m) => messageJson.json(m, '', () => messageWire(conversation, m, world)));
    return reply.type(JSON_TYPE).send(listBody('messages', items, { meta: page.meta }));
  });

  app.get<{ Params: { sid: string } }>('/v1/Conversations/:sid/Participants', routeConfig('participants'), async (request, reply) => {
    const conversation = store.conversation(request.params.sid);
    if (!conversation) return notFound(reply, `/Conversations/${request.params.sid}/Participants`);
    const page = twilioPage(
      [conversation.customer, conversation.agent],
      (p) => p.sid,
      { url: `${CONVERSATIONS_HOST}/v1/Conversations/${conversation.sid}/Participants`, filters: [], key: 'participants' },
      pageRequest(request.query, 100),
    );
    if (!page) throw badRequest('Invalid PageToken');
    return { participants: page.items.map((p) => participantWire(conversation, p, world)), meta: page.meta };
  });

  // --- TaskRouter ----------------------------------------------------------------------------

  type TaskParams = { Params: { workspaceSid: string; sid: string } };
  const sendTask = (reply: FastifyReply, task: SandboxTask, status = 200): FastifyReply =>
    reply
      .code(status)
      .header('ETag', String(task.version))
      .send(taskWire(task, world, store.clock()));

  app.get<TaskParams>('/v1/Workspaces/:workspaceSid/Tasks/:sid', routeConfig('task'), async (request, reply) => {
    const task = request.params.workspaceSid === world.workspaceSid ? store.rawTask(request.params.sid) : undefined;
    return task ? sendTask(reply, task) : notFound(reply, `/Workspaces/${request.params.workspaceSid}/Tasks/${request.params.sid}`);
  });

  app.post<TaskParams & { Body: Form | undefined }>('/v1/Workspaces/:workspaceSid/Tasks/:sid', routeConfig('task_update'), async (request, reply) => {
    const task = request.params.workspaceSid === world.workspaceSid ? store.rawTask(request.params.sid) : undefined;
    if (!task) return notFound(reply, `/Workspaces/${request.params.workspaceSid}/Tasks/${request.params.sid}`);
    const form = request.body ?? {};
    const ifMatch = request.headers['if-match'] ?? null;
    const result = store.updateTask(task, taskChanges(form, store), ifMatch, form);
    if (!result.ok) return reply.code(412).send(twilioError(412));
    return sendTask(reply, result.task);
  });

  app.get<TaskParams>('/v1/Workspaces/:workspaceSid/Tasks', routeConfig('tasks_list'), async (request, reply) => {
    if (request.params.workspaceSid !== world.workspaceSid) return notFound(reply, `/Workspaces/${request.params.workspaceSid}/Tasks`);
    const statuses = queryValues(request.query, 'AssignmentStatus').flatMap((s) => s.split(','));
    const all = statuses.length ? store.allTasks().filter((t) => statuses.includes(t.assignmentStatus)) : store.allTasks();
    const filters = statuses.map((s): [string, string] => ['AssignmentStatus', s]);
    const page = twilioPage(
      all,
      (t) => t.sid,
      { url: `${TASKROUTER_HOST}/v1/Workspaces/${world.workspaceSid}/Tasks`, filters, key: 'tasks' },
      pageRequest(request.query, 1000),
    );
    if (!page) throw badRequest('Invalid PageToken');
    const now = store.clock();
    return { tasks: page.items.map((t) => taskWire(t, world, now)), meta: page.meta };
  });

  app.post<TaskParams & { Body: Form | undefined }>('/v1/Workspaces/:workspaceSid/Tasks', routeConfig('task_create'), async (request, reply) => {
    if (request.params.workspaceSid !== world.workspaceSid) return notFound(reply, `/Workspaces/${request.params.workspaceSid}/Tasks`);
    const form = request.body ?? {};
    if (form.WorkflowSid !== undefined && form.WorkflowSid !== world.workflowSid) throw badRequest(`Workflow ${form.WorkflowSid} not found`);
    const changes = taskChanges(form, store);
    const task = store.createTask({
      attributes: changes.attributes ?? '{}',
      taskChannel: changes.taskChannel ?? 'default',
      priority: changes.priority ?? 0,
      timeout: form.Timeout !== undefined ? integer(form.Timeout, 'Timeout') : 86_400,
    });
    return sendTask(reply, task, 201);
  });

  type WorkerParams = { Params: { workspaceSid: string; workerSid: string } };
  app.get<WorkerParams>('/v1/Workspaces/:workspaceSid/Workers/:workerSid/Reservations', routeConfig('worker_reservations'), async (request, reply) => {
    const { workspaceSid, workerSid } = request.params;
    const worker = workspaceSid === world.workspaceSid ? store.workerAgent(workerSid) : undefined;
    if (!worker) return notFound(reply, `/Workspaces/${workspaceSid}/Workers/${workerSid}/Reservations`);
    const status = queryValue(request.query, 'ReservationStatus');
    if (status !== undefined && !RESERVATION_STATUSES.includes(status as ReservationStatus)) throw badRequest(`Invalid ReservationStatus ${status}`);
    const all = store.reservations({ workerSid, status: status as ReservationStatus | undefined });
    const filters: Array<[string, string]> = status === undefined ? [] : [['ReservationStatus', status]];
    const page = twilioPage(
      all,
      (r) => r.sid,
      { url: `${TASKROUTER_HOST}/v1/Workspaces/${world.workspaceSid}/Workers/${workerSid}/Reservations`, filters, key: 'reservations' },
      pageRequest(request.query, 1000),
    );
    if (!page) throw badRequest('Invalid PageToken');
    return { reservations: page.items.map((r) => workerReservationWire(r, worker, world)), meta: page.meta };
  });

  // --- IAM -----------------------------------------------------------------------------------

  app.post<{ Params: { accountSid: string }; Body: Record<string, unknown> | undefined }>(
    '/v1/Accounts/:accountSid/Tokens/validate',
    routeConfig('token_validate'),
    async (request, reply) => {
      // Valid credentials asking about another account's tokens
      if (request.params.accountSid !== world.accountSid) return reply.code(403).send(twilioError(403));
      const token = request.body?.token ?? request.body?.Token;
      if (typeof token !== 'string' || token === '') throw badRequest('Missing required parameter token');
      return tokens.validate(token);
    },
  );

  // --- Flex Plugins API (flex-api.twilio.com) ------------------------------------------------

  new FlexPluginService(world.accountSid).register(app, pageRequest);

  // --- Conversational Intelligence (intelligence.twilio.com) ---------------------------------

  const demo = intelligenceDemo(store, world, store.clock());
  registerIntelligence(app, () => (demo ? [demo] : []), world);

  // --- Flex Interactions (flex-api.twilio.com), read for Agent Copilot wrap-up notes ---------
  // The intelligence demo customer's conversation is the one whose note the demo wraps up.
  const interactions = interactionsDemo(store, world, demo?.customer ?? null);
  registerInteractions(app, () => interactions);

  return app;
}

/** Page and PageSize as Twilio reads them: PageSize is clamped to 1..max, default 50. */
export function pageRequest(query: unknown, maxSize: number): PageRequest {
  const size = queryValue(query, 'PageSize');
  const page = queryValue(query, 'Page');
  return {
    pageSize: size === undefined ? Math.min(50, maxSize) : Math.min(maxSize, Math.max(1, integer(size, 'PageSize'))),
    page: page === undefined ? 0 : Math.max(0, integer(page, 'Page')),
    pageToken: queryValue(query, 'PageToken'),
  };
}

function integer(raw: string, name: string): number {
  if (!/^-?\d+$/.test(raw)) throw badRequest(`${name} must be an integer`);
  return Number(raw);
}

function taskChanges(form: Form, store: SandboxStore): TaskChanges {
  const changes: TaskChanges = {};
  if (form.Attributes !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(form.Attributes);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Attributes must be a JSON object');
    changes.attributes = form.Attributes;
  }
  if (form.AssignmentStatus !== undefined) {
    if (!TASK_STATUSES.includes(form.AssignmentStatus as TaskAssignmentStatus)) throw badRequest(`Invalid AssignmentStatus ${form.AssignmentStatus}`);
    changes.assignmentStatus = form.AssignmentStatus as TaskAssignmentStatus;
  }
  if (form.Priority !== undefined) changes.priority = integer(form.Priority, 'Priority');
  if (form.Reason !== undefined) changes.reason = form.Reason;
  if (form.TaskChannel !== undefined) {
    const channels = store.world.taskChannels;
    const name = form.TaskChannel in channels ? form.TaskChannel : Object.keys(channels).find((n) => channels[n] === form.TaskChannel);
    if (!name) throw badRequest(`TaskChannel ${form.TaskChannel} not found`);
    changes.taskChannel = name;
  }
  return changes;
}
