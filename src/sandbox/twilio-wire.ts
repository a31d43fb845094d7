import type { SandboxReservation } from './data';
import type { SandboxAgent, SandboxConversation, SandboxMessage, SandboxParticipant, SandboxTask, SandboxWorld } from './seed';

/** Twilio resources as the REST API returns them: snake_case, absolute https://*.twilio.com URLs. */

export const CONVERSATIONS_HOST = 'https://conversations.twilio.com';
export const TASKROUTER_HOST = 'https://taskrouter.twilio.com';

const TWILIO_ERROR_CODES: Record<number, [number, string]> = {
  400: [20001, 'Bad Request'],
  401: [20003, 'Authenticate'],
  403: [20403, 'Forbidden'],
  404: [20404, 'The requested resource was not found'],
  412: [20001, 'The ETag given in If-Match does not match the current version of the resource'],
  429: [20429, 'Too Many Requests'],
};

export interface TwilioError {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function twilioError(status: number, message?: string): TwilioError {
  const [code, fallback] = TWILIO_ERROR_CODES[status] ?? (status >= 500 ? [20500, 'Internal Server Error'] : [20001, 'Bad Request']);
  return { code, message: message ?? fallback, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export interface TwilioListMeta {
  page: number;
  page_size: number;
  first_page_url: string;
  previous_page_url: string | null;
  url: string;
  next_page_url: string | null;
  key: string;
}

export interface PageRequest {
  page: number;
  pageSize: number;
  pageToken?: string;
}

/**
 * One page of a list, with Twilio's paging links. Page tokens name the item the page starts
 * after (`PT`) or ends before (`PB`), so items added between pages do not shift later pages.
 */
export function twilioPage<T>(
  all: readonly T[],
  keyOf: (item: T) => string,
  list: { url: string; filters: Array<[string, string]>; key: string },
  request: PageRequest,
): { items: T[]; meta: TwilioListMeta } | null {
  const { page, pageSize, pageToken } = request;
  let start = page * pageSize;
  if (pageToken) {
    const direction = pageToken.slice(0, 2);
    const key = Buffer.from(pageToken.slice(2), 'base64url').toString('utf8');
    const at = direction === 'PT' || direction === 'PB' ? all.findIndex((item) => keyOf(item) === key) : -1;
    if (at === -1) return null;
    start = direction === 'PT' ? at + 1 : Math.max(0, at - pageSize);
  }
  const items = all.slice(start, start + pageSize);
  const link = (pageIndex: number, token?: string): string => {
    const params = [...list.filters, ['PageSize', String(pageSize)], ['Page', String(pageIndex)]];
    if (token) params.push(['PageToken', token]);
    return `${list.url}?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
  };
  const token = (direction: 'PT' | 'PB', item: T): string => direction + Buffer.from(keyOf(item), 'utf8').toString('base64url');
  const hasNext = start + items.length < all.length && items.length > 0;
  const hasPrevious = start > 0 && items.length > 0;
  return {
    items,
    meta: {
      page,
      page_size: pageSize,
      first_page_url: link(0),
      previous_page_url: hasPrevious ? link(Math.max(0, page - 1), token('PB', items[0])) : null,
      url: link(page, pageToken),
      next_page_url: hasNext ? link(page + 1, token('PT', items[items.length - 1])) : null,
      key: list.key,
    },
  };
}

const conversationUrl = (sid: string): string => `${CONVERSATIONS_HOST}/v1/Conversations/${sid}`;

export function conversationWire(c: SandboxConversation, world: SandboxWorld): Record<string, unknown> {
  const url = conversationUrl(c.sid);
  return {
    account_sid: world.accountSid,
    chat_service_sid: world.chatServiceSid,
    messaging_service_sid: world.messagingServiceSid,
    sid: c.sid,
    friendly_name: c.friendlyName,
    unique_name: null,
    attributes: c.attributes,
    state: c.state,
    date_created: c.dateCreated,
    date_updated: c.dateUpdated,
    timers: {},
    url,
    links: { participants: `${url}/Participants`, messages: `${url}/Messages`, webhooks: `${url}/Webhooks` },
    bindings: {},
  };
}

export function participantConversationWire(c: SandboxConversation, participant: SandboxParticipant, world: SandboxWorld): Record<string, unknown> {
  const url = conversationUrl(c.sid);
  return {
    account_sid: world.accountSid,
    chat_service_sid: world.chatServiceSid,
    participant_sid: participant.sid,
    participant_user_sid: participant.userSid,
    participant_identity: participant.identity,
    participant_messaging_binding: participant.messagingBinding,
    conversation_sid: c.sid,
    conversation_unique_name: null,
    conversation_friendly_name: c.friendlyName,
    conversation_attributes: c.attributes,
    conversation_date_created: c.dateCreated,
    conversation_date_updated: c.dateUpdated,
    conversation_created_by: 'system',
    conversation_state: c.state,
    conversation_timers: {},
    links: { participant: `${url}/Participants/${participant.sid}`, conversation: url },
  };
}

export function messageWire(c: SandboxConversation, m: SandboxMessage, world: SandboxWorld): Record<string, unknown> {
  const url = `${conversationUrl(c.sid)}/Messages/${m.sid}`;
  // Twilio reports delivery only for messages it sent out over a channel (the agent's replies).
  const outbound = m.participantSid !== null && m.participantSid === c.agent.sid;
  return {
    account_sid: world.accountSid,
    conversation_sid: c.sid,
    sid: m.sid,
    index: m.index,
    author: m.author,
    body: m.body,
    media: null,
    attributes: '{}',
    participant_sid: m.participantSid,
    date_created: m.dateCreated,
    date_updated: m.dateCreated,
    url,
    delivery: outbound ? { total: 1, sent: 'all', delivered: 'all', read: 'none', failed: 'none', undelivered: 'none' } : null,
    links: { delivery_receipts: `${url}/Receipts`, channel_metadata: `${url}/ChannelMetadata` },
    content_sid: null,
  };
}

export function participantWire(c: SandboxConversation, p: SandboxParticipant, world: SandboxWorld): Record<string, unknown> {
  const isAgent = p.identity !== null;
  const last = c.messages[c.messages.length - 1];
  return {
    account_sid: world.accountSid,
    conversation_sid: c.sid,
    sid: p.sid,
    identity: p.identity,
    attributes: '{}',
    messaging_binding: p.messagingBinding,
    role_sid: isAgent ? world.roleSids.agent : world.roleSids.channelUser,
    date_created: p.dateCreated,
    date_updated: p.dateCreated,
    url: `${conversationUrl(c.sid)}/Participants/${p.sid}`,
    last_read_message_index: isAgent && last ? last.index : null,
    last_read_timestamp: isAgent && last ? last.dateCreated : null,
  };
}

export function taskWire(t: SandboxTask, world: SandboxWorld, nowMs: number): Record<string, unknown> {
  const workspaceUrl = `${TASKROUTER_HOST}/v1/Workspaces/${world.workspaceSid}`;
  const url = `${workspaceUrl}/Tasks/${t.sid}`;
  return {
    account_sid: world.accountSid,
    age: Math.max(0, Math.floor((nowMs - Date.parse(t.dateCreated)) / 1000)),
    assignment_status: t.assignmentStatus,
    attributes: t.attributes,
    addons: '{}',
    date_created: t.dateCreated,
    date_updated: t.dateUpdated,
    task_queue_entered_date: t.dateCreated,
    priority: t.priority,
    reason: t.reason,
    sid: t.sid,
    task_queue_sid: world.taskQueueSid,
    task_queue_friendly_name: world.taskQueueFriendlyName,
    task_channel_sid: world.taskChannels[t.taskChannel],
    task_channel_unique_name: t.taskChannel,
    timeout: t.timeout,
    workflow_sid: world.workflowSid,
    workflow_friendly_name: world.workflowFriendlyName,
    workspace_sid: world.workspaceSid,
    url,
    links: {
      task_queue: `${workspaceUrl}/TaskQueues/${world.taskQueueSid}`,
      workflow: `${workspaceUrl}/Workflows/${world.workflowSid}`,
      workspace: workspaceUrl,
      reservations: `${url}/Reservations`,
    },
    virtual_start_time: t.dateCreated,
    ignore_capacity: false,
    routing_target: null,
  };
}

/**
 * TaskRouter's WorkerReservation (`taskrouter.v1.workspace.worker.worker_reservation`). Flex
 * creates each user's worker with their identity as friendly_name, which is `worker_name` here.
 */
export function workerReservationWire(r: SandboxReservation, worker: SandboxAgent, world: SandboxWorld): Record<string, unknown> {
  const workspaceUrl = `${TASKROUTER_HOST}/v1/Workspaces/${world.workspaceSid}`;
  const workerUrl = `${workspaceUrl}/Workers/${r.workerSid}`;
  return {
    account_sid: world.accountSid,
    date_created: r.dateCreated,
    date_updated: r.dateUpdated,
    reservation_status: r.status,
    sid: r.sid,
    task_sid: r.taskSid,
    worker_name: worker.identity,
    worker_sid: r.workerSid,
    workspace_sid: world.workspaceSid,
    url: `${workerUrl}/Reservations/${r.sid}`,
    links: {
      task: `${workspaceUrl}/Tasks/${r.taskSid}`,
      worker: workerUrl,
      workspace: workspaceUrl,
    },
  };
}
