export type SandboxService = 'segment' | 'twilio' | 'tracking';

export type SandboxRoute =
  | 'traits'
  | 'events'
  | 'external_ids'
  | 'metadata'
  | 'links'
  | 'account_traits' // segment profile API
  | 'batch' // segment tracking (also /v1/track and /v1/identify)
  | 'participant_conversations'
  | 'conversation'
  | 'messages'
  | 'participants' // twilio conversations
  | 'task'
  | 'task_update'
  | 'tasks_list'
  | 'task_create'
  | 'worker_reservations' // twilio taskrouter
  | 'token_validate' // twilio iam
  | 'transcript'
  | 'operator_results' // twilio conversational intelligence
  | 'flex_plugin_service' // twilio flex plugins api
  | 'interaction'
  | 'interaction_participants'; // twilio flex interactions api

export const SANDBOX_ROUTES: readonly SandboxRoute[] = [
  'traits',
  'events',
  'external_ids',
  'metadata',
  'links',
  'account_traits',
  'batch',
  'participant_conversations',
  'conversation',
  'messages',
  'participants',
  'task',
  'task_update',
  'tasks_list',
  'task_create',
  'worker_reservations',
  'token_validate',
  'flex_plugin_service',
  'transcript',
  'operator_results',
  'interaction',
  'interaction_participants',
];

export interface FaultRule {
  service: SandboxService;
  /** undefined = every route of that service */
  route?: SandboxRoute;
  /** answer this HTTP status with the service's real error body */
  status?: number;
  /** added delay before answering (applies also with status) */
  latencyMs?: number;
  /** never answer: hold the socket until the client gives up or the sandbox closes */
  timeout?: boolean;
  /** apply to the next N matching calls, then the rule removes itself; default: until cleared */
  times?: number;
  /** with status: the error body's message, as the service words one that quotes the request (a Twilio 400 naming the phone it refused) */
  message?: string;
  /** with 429: send Retry-After */
  retryAfterSeconds?: number;
}

/** JSON schema of a FaultRule, for the control API. */
export const FAULT_RULE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['service'],
  // a rule that does nothing is a mistake
  anyOf: [{ required: ['status'] }, { required: ['latencyMs'] }, { required: ['timeout'] }],
  properties: {
    service: { enum: ['segment', 'twilio', 'tracking'] },
    route: { enum: SANDBOX_ROUTES },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    latencyMs: { type: 'integer', minimum: 0 },
    timeout: { type: 'boolean' },
    times: { type: 'integer', minimum: 1 },
    retryAfterSeconds: { type: 'integer', minimum: 0 },
    message: { type: 'string', maxLength: 500 },
  },
} as const;

/** Injected failures. The first matching rule wins; `times` counts down per matching call. */
export class Faults {
  private rules: FaultRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that applies to this call, if any; consumes one of its `times`. */
  take(service: SandboxService, route: SandboxRoute | 'unknown'): FaultRule | undefined {
    const at = this.rules.findIndex((rule) => rule.service === service && (rule.route === undefined || rule.route === route));
    if (at === -1) return undefined;
    const rule = this.rules[at];
    if (rule.times !== undefined) {
      rule.times -= 1;
      if (rule.times <= 0) this.rules.splice(at, 1);
    }
    return rule;
  }
}
