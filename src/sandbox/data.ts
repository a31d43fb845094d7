import { Random } from './random';
import {
  phoneNumber,
  twilioDate,
  type Archetype,
  type SandboxAccount,
  type SandboxAgent,
  type SandboxConversation,
  type SandboxCustomer,
  type SandboxMessage,
  type SandboxTask,
  type SandboxWorld,
  type SegmentEventWire,
  type TaskAssignmentStatus,
} from './seed';

/** An event to add; omitted fields get the values Segment would fill in. */
export type NewSegmentEvent = Pick<SegmentEventWire, 'event'> & Partial<SegmentEventWire>;

export interface TaskUpdateRecord {
  taskSid: string;
  /** Version (ETag) after the update. */
  version: number;
  at: string;
  ifMatch: string | null;
  /** The form parameters as sent (Attributes, AssignmentStatus, ...). */
  params: Record<string, string>;
}

export interface SandboxTaskState {
  sid: string;
  attributes: Record<string, unknown>;
  version: number;
  assignmentStatus: TaskAssignmentStatus;
  updates: TaskUpdateRecord[];
}

/** TaskRouter's reservation statuses (worker_reservation_enum_status). */
export type ReservationStatus = 'pending' | 'accepted' | 'rejected' | 'timeout' | 'canceled' | 'rescinded' | 'wrapping' | 'completed';

export const RESERVATION_STATUSES: readonly ReservationStatus[] = [
  'pending',
  'accepted',
  'rejected',
  'timeout',
  'canceled',
  'rescinded',
  'wrapping',
  'completed',
];

/** A task offered to (pending), held by (accepted, wrapping) or done by (completed) one worker. */
export interface SandboxReservation {
  /** WR... */
  sid: string;
  taskSid: string;
  workerSid: string;
  status: ReservationStatus;
  dateCreated: string;
  dateUpdated: string;
}

export interface SandboxData {
  readonly customers: SandboxCustomer[];
  readonly agents: SandboxAgent[];
  /** Business accounts (Segment's accounts collection); customers link to them by `accounts`. */
  readonly accounts: SandboxAccount[];
  /** First customer of that archetype. */
  byArchetype(archetype: Archetype): SandboxCustomer;
  /** A valid E.164 number that no customer has. */
  unknownPhone(): string;
  conversation(sid: string): SandboxConversation | undefined;
  /** A task's current attributes, version (ETag) and the updates made through the API. */
  task(sid: string): SandboxTaskState | undefined;
  /** Every task update made through the API, in order. */
  taskUpdates(): TaskUpdateRecord[];
  addEvent(customer: SandboxCustomer, event: NewSegmentEvent): SegmentEventWire;
  /** Appends a message and bumps the conversation's date_updated. */
  addMessage(conversationSid: string, message: { author: string; body: string }): SandboxMessage;
  /**
   * Reserves a task for a worker (the `workerSid` of one of `agents`), default 'accepted', as
   * TaskRouter does when it offers the task. The task's assignment status follows (see
   * `setReservationStatus`); its version (ETag) does not change.
   */
  reserve(taskSid: string, workerSid: string, status?: ReservationStatus): SandboxReservation;
  /**
   * Moves a reservation to another status, e.g. 'wrapping' then 'completed'. The task's
   * assignment status follows: pending → reserved, accepted → assigned, wrapping → wrapping,
   * completed → completed, canceled → canceled; rejected, timeout and rescinded put it back to
   * pending unless another reservation of it is still pending, accepted or wrapping.
   */
  setReservationStatus(reservationSid: string, status: ReservationStatus): SandboxReservation;
  /** Reservations, oldest first, optionally only a worker's, a task's or those in one status. */
  reservations(filter?: { workerSid?: string; taskSid?: string; status?: ReservationStatus }): SandboxReservation[];
}

export interface TaskChanges {
  attributes?: string;
  assignmentStatus?: TaskAssignmentStatus;
  priority?: number;
  reason?: string;
  taskChannel?: string;
}

export type TaskUpdateResult = { ok: true; task: SandboxTask } | { ok: false; reason: 'stale' };

// Streams for data made after start, above any customer index.
const NEW_TASK_STREAM = 0x7fff_fff1;
const NEW_MESSAGE_STREAM = 0x7fff_fff2;
const NEW_EVENT_STREAM = 0x7fff_fff3;
const NEW_RESERVATION_STREAM = 0x7fff_fff4;

/** What a task's assignment status becomes when one of its reservations moves to a status. */
const TASK_STATUS_OF: Partial<Record<ReservationStatus, TaskAssignmentStatus>> = {
  pending: 'reserved',
  accepted: 'assigned',
  wrapping: 'wrapping',
  completed: 'completed',
  canceled: 'canceled',
};
const ACTIVE_RESERVATION: ReadonlySet<ReservationStatus> = new Set(['pending', 'accepted', 'wrapping']);

/** The sandbox's state: seeded customers, indexed by every identifier the APIs look them up by. */
export class SandboxStore implements SandboxData {
  readonly agents: SandboxAgent[];
  /** id type ('' for bare use_ ids) -> value -> customer; one map per type keeps keys unconcatenated. */
  private readonly profiles = new Map<string, Map<string, SandboxCustomer>>();
  private readonly conversations = new Map<string, SandboxConversation>();
  /** Participant address / identity -> conversations sorted by sid, as Twilio lists them. */
  private readonly participantConversations = { address: new Map<string, SandboxConversation[]>(), identity: new Map<string, SandboxConversation[]>() };
  private readonly tasks = new Map<string, SandboxTask>();
  /** Oldest first. */
  private readonly taskList: SandboxTask[] = [];
  private readonly updates: TaskUpdateRecord[] = [];
  private readonly updatesByTask = new Map<string, TaskUpdateRecord[]>();
  private readonly newTaskIds: Random;
  private readonly newMessageIds: Random;
  private readonly newEventIds: Random;
  private readonly newReservationIds: Random;
  /** Oldest first. */
  private readonly reservationList: SandboxReservation[] = [];
  private readonly reservationsBySid = new Map<string, SandboxReservation>();

  constructor(
    readonly world: SandboxWorld,
    readonly customers: SandboxCustomer[],
    readonly phoneIdType: string,
    seed: number,
    /** Sandbox time: `now` at start, then moving with the wall clock. */
    readonly clock: () => number,
  ) {
    this.agents = world.agents;
    this.newTaskIds = Random.derive(seed, NEW_TASK_STREAM);
    this.newMessageIds = Random.derive(seed, NEW_MESSAGE_STREAM);
    this.newEventIds = Random.derive(seed, NEW_EVENT_STREAM);
    this.newReservationIds = Random.derive(seed, NEW_RESERVATION_STREAM);
    for (const customer of customers) this.index(customer);
    for (const byKey of Object.values(this.participantConversations)) for (const list of byKey.values()) list.sort((a, b) => (a.sid < b.sid ? -1 : 1));
    this.taskList.sort((a, b) => (a.dateCreated < b.dateCreated ? -1 : a.dateCreated > b.dateCreated ? 1 : a.sid < b.sid ? -1 : 1));
  }

  private index(customer: SandboxCustomer): void {
    if (customer.profileId) {
      this.profilesOf('').set(customer.profileId, customer);
      if (customer.userId) this.profilesOf('user_id').set(customer.userId, customer);
      if (customer.email) this.profilesOf('email').set(customer.email, customer);
      if (customer.phone) this.profilesOf(this.phoneIdType).set(customer.phone, customer);
      const anonymous = this.profilesOf('anonymous_id');
      for (const id of customer.anonymousIds) anonymous.set(id, customer);
    }
    for (const conversation of customer.conversations) {
      this.conversations.set(conversation.sid, conversation);
      listFor(this.participantConversations.address, conversation.address).push(conversation);
      listFor(this.participantConversations.identity, conversation.agent.identity as string).push(conversation);
    }
    for (const task of customer.tasks) {
      this.tasks.set(task.sid, task);
      this.taskList.push(task);
    }
  }

  private profilesOf(type: string): Map<string, SandboxCustomer> {
    let byValue = this.profiles.get(type);
    if (!byValue) this.profiles.set(type, (byValue = new Map<string, SandboxCustomer>()));
    return byValue;
  }

  get accounts(): SandboxAccount[] {
    return this.world.accounts;
  }

  byArchetype(archetype: Archetype): SandboxCustomer {
    const found = this.customers.find((c) => c.archetype === archetype);
    if (!found) throw new Error(`The sandbox has no '${archetype}' customer (seeded with ${this.customers.length} customers)`);
    return found;
  }

  unknownPhone(): string {
    // phoneNumber(n) is unique per n and customers only use n = their index
    return phoneNumber(this.customers.length);
  }

  /** `type:value` (value decoded) or, with type null, a bare `use_` id. */
  profile(type: string | null, value: string): SandboxCustomer | undefined {
    return this.profiles.get(type ?? '')?.get(value);
  }

  conversation(sid: string): SandboxConversation | undefined {
    return this.conversations.get(sid);
  }

  conversationsOf(by: 'address' | 'identity', value: string): readonly SandboxConversation[] {
    return this.participantConversations[by].get(value) ?? [];
  }

  rawTask(sid: string): SandboxTask | undefined {
    return this.tasks.get(sid);
  }

  allTasks(): readonly SandboxTask[] {
    return this.taskList;
  }

  task(sid: string): SandboxTaskState | undefined {
    const task = this.tasks.get(sid);
    if (!task) return undefined;
    return {
      sid: task.sid,
      attributes: JSON.parse(task.attributes) as Record<string, unknown>,
      version: task.version,
      assignmentStatus: task.assignmentStatus,
      updates: [...(this.updatesByTask.get(sid) ?? [])],
    };
  }

  taskUpdates(): TaskUpdateRecord[] {
    return [...this.updates];
  }

  createTask(input: { attributes: string; taskChannel: string; priority: number; timeout: number }): SandboxTask {
    const created = twilioDate(this.clock());
    const task: SandboxTask = {
      sid: this.newTaskIds.sid('WT'),
      customerIndex: null,
      attributes: input.attributes,
      assignmentStatus: 'pending',
      priority: input.priority,
      reason: null,
      timeout: input.timeout,
      taskChannel: input.taskChannel,
      dateCreated: created,
      dateUpdated: created,
      version: 0,
    };
    this.tasks.set(task.sid, task);
    this.taskList.push(task);
    return task;
  }

  /** Applies the changes unless `ifMatch` names an older version (TaskRouter's optimistic locking). */
  updateTask(task: SandboxTask, changes: TaskChanges, ifMatch: string | null, params: Record<string, string>): TaskUpdateResult {
    if (ifMatch !== null && normalizeEtag(ifMatch) !== String(task.version)) return { ok: false, reason: 'stale' };
    if (changes.attributes !== undefined) task.attributes = changes.attributes;
    if (changes.assignmentStatus !== undefined) task.assignmentStatus = changes.assignmentStatus;
    if (changes.priority !== undefined) task.priority = changes.priority;
    if (changes.reason !== undefined) task.reason = changes.reason;
    if (changes.taskChannel !== undefined) task.taskChannel = changes.taskChannel;
    task.version += 1;
    task.dateUpdated = twilioDate(this.clock());
    const record: TaskUpdateRecord = { taskSid: task.sid, version: task.version, at: task.dateUpdated, ifMatch, params };
    this.updates.push(record);
    let forTask = this.updatesByTask.get(task.sid);
    if (!forTask) this.updatesByTask.set(task.sid, (forTask = []));
    forTask.push(record);
    return { ok: true, task };
  }

  addEvent(customer: SandboxCustomer, event: NewSegmentEvent): SegmentEventWire {
    const wire: SegmentEventWire = {
      type: 'track',
      message_id: this.newEventIds.uuid(),
      source_id: this.world.sources.server,
      timestamp: new Date(this.clock()).toISOString(),
      properties: {},
      context: {},
      external_ids: customer.userId ? [{ collection: 'users', type: 'user_id', id: customer.userId, encoding: 'none' }] : [],
      related: { users: customer.profileId ?? '' },
      ...event,
    };
    // keep newest first
    const at = customer.events.findIndex((e) => e.timestamp <= wire.timestamp);
    customer.events.splice(at === -1 ? customer.events.length : at, 0, wire);
    return wire;
  }

  addMessage(conversationSid: string, message: { author: string; body: string }): SandboxMessage {
    const conversation = this.conversations.get(conversationSid);
    if (!conversation) throw new Error(`Unknown conversation ${conversationSid}`);
    const participant = [conversation.customer, conversation.agent].find(
      (p) => p.identity === message.author || p.messagingBinding?.address === message.author,
    );
    const created = twilioDate(this.clock());
    const last = conversation.messages[conversation.messages.length - 1];
    const added: SandboxMessage = {
      sid: this.newMessageIds.sid('IM'),
      index: last ? last.index + 1 : 0,
      author: message.author,
      body: message.body,
      participantSid: participant?.sid ?? null,
      dateCreated: created,
    };
    conversation.messages.push(added);
    conversation.dateUpdated = created;
    return added;
  }

  /** The agent whose worker that is. */
  workerAgent(workerSid: string): SandboxAgent | undefined {
    return this.agents.find((a) => a.workerSid === workerSid);
  }

  reserve(taskSid: string, workerSid: string, status: ReservationStatus = 'accepted'): SandboxReservation {
    const task = this.tasks.get(taskSid);
    if (!task) throw new Error(`Unknown task ${taskSid}`);
    if (!this.workerAgent(workerSid)) throw new Error(`Unknown worker ${workerSid}: reserve for the workerSid of one of the sandbox's agents`);
    assertReservationStatus(status);
    const created = twilioDate(this.clock());
    const reservation: SandboxReservation = { sid: this.newReservationIds.sid('WR'), taskSid, workerSid, status, dateCreated: created, dateUpdated: created };
    this.reservationList.push(reservation);
    this.reservationsBySid.set(reservation.sid, reservation);
    this.taskFollows(task, reservation);
    return { ...reservation };
  }

  setReservationStatus(reservationSid: string, status: ReservationStatus): SandboxReservation {
    const reservation = this.reservationsBySid.get(reservationSid);
    if (!reservation) throw new Error(`Unknown reservation ${reservationSid}`);
    assertReservationStatus(status);
    reservation.status = status;
    reservation.dateUpdated = twilioDate(this.clock());
    const task = this.tasks.get(reservation.taskSid);
    if (task) this.taskFollows(task, reservation);
    return { ...reservation };
  }

  reservations(filter: { workerSid?: string; taskSid?: string; status?: ReservationStatus } = {}): SandboxReservation[] {
    return this.reservationList
      .filter(
        (r) =>
          (filter.workerSid === undefined || r.workerSid === filter.workerSid) &&
          (filter.taskSid === undefined || r.taskSid === filter.taskSid) &&
          (filter.status === undefined || r.status === filter.status),
      )
      .map((r) => ({ ...r }));
  }

  private taskFollows(task: SandboxTask, changed: SandboxReservation): void {
    const next = TASK_STATUS_OF[changed.status];
    if (next) task.assignmentStatus = next;
    else if (!this.reservationList.some((r) => r !== changed && r.taskSid === task.sid && ACTIVE_RESERVATION.has(r.status))) task.assignmentStatus = 'pending';
    else return;
    task.dateUpdated = changed.dateUpdated;
  }
}

function assertReservationStatus(status: string): asserts status is ReservationStatus {
  if (!RESERVATION_STATUSES.includes(status as ReservationStatus))
    throw new Error(`Unknown reservation status ${status}; one of ${RESERVATION_STATUSES.join(', ')}`);
}

function listFor<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** Clients send ETags back quoted, weak or bare; compare the version number alone. */
function normalizeEtag(value: string): string {
  return value
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}
