/**
 * One error type for the whole service. Adapters turn SDK and HTTP failures into it; one place
 * (`toErrorBody`) maps it to an HTTP status and a GraphQL `extensions.code`.
 */
export enum ErrorCode {
  BAD_REQUEST = 'BAD_REQUEST',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED = 'RATE_LIMITED',
  QUERY_TOO_LARGE = 'QUERY_TOO_LARGE',
  QUERY_TOO_DEEP = 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_REQUIRED = 'PERSISTED_QUERY_REQUIRED',
  UPSTREAM_UNAVAILABLE = 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT = 'UPSTREAM_TIMEOUT',
  UPSTREAM_RATE_LIMITED = 'UPSTREAM_RATE_LIMITED',
  /**
   * Segment answered 404 for a profile it had just resolved (merged or deleted since): the
   * source's data is missing, not empty.
   */
  PROFILE_NOT_FOUND = 'PROFILE_NOT_FOUND',
  /** A backing service of our own (Redis) is down: nothing was changed, retry later. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** Our own Profile API budget (SEGMENT_MAX_RPS) had no call left in time. */
  BUDGET_EXHAUSTED = 'BUDGET_EXHAUSTED',
  INTERNAL = 'INTERNAL',
}

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.QUERY_TOO_LARGE]: 413,
  [ErrorCode.QUERY_TOO_DEEP]: 400,
  [ErrorCode.QUERY_TOO_COMPLEX]: 400,
  [ErrorCode.PERSISTED_QUERY_NOT_FOUND]: 400,
  [ErrorCode.PERSISTED_QUERY_REQUIRED]: 400,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 502,
  [ErrorCode.UPSTREAM_TIMEOUT]: 504,
  [ErrorCode.UPSTREAM_RATE_LIMITED]: 503,
  [ErrorCode.PROFILE_NOT_FOUND]: 502,
  [ErrorCode.BUDGET_EXHAUSTED]: 503,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL]: 500,
};

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.details = options.details;
  }
  readonly details?: Record<string, unknown>;

  get status(): number {
    return STATUS[this.code];
  }

  /**
   * graphql-js copies an original error's `extensions` onto the GraphQLError it wraps it in, so
   * the code reaches clients where no error formatter runs (graphql-ws subscription errors).
   */
  get extensions(): { code: ErrorCode } {
    return { code: this.code };
  }
}

/** An upstream (Segment, Twilio) failed in a way worth retrying or reporting. */
export class UpstreamError extends DomainError {
  override name = 'UpstreamError';
  constructor(
    readonly source: string,
    code:
      | ErrorCode.UPSTREAM_UNAVAILABLE
      | ErrorCode.UPSTREAM_TIMEOUT
      | ErrorCode.UPSTREAM_RATE_LIMITED
      | ErrorCode.BUDGET_EXHAUSTED
      | ErrorCode.BAD_REQUEST
      | ErrorCode.UNAUTHENTICATED,
    message: string,
    readonly upstreamStatus?: number,
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
  }

  get retryable(): boolean {
    return this.code !== ErrorCode.BAD_REQUEST && this.code !== ErrorCode.UNAUTHENTICATED && this.code !== ErrorCode.BUDGET_EXHAUSTED;
  }
}

export interface ErrorBody {
  status: number;
  code: ErrorCode | string;
  message: string;
  /** Set for unexpected errors: the id under which the error was logged. */
  errorId?: string;
}

/** Fastify's and Mercurius's own client errors (bad JSON, too large, ...) carry these codes. */
export const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.BAD_REQUEST,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.BAD_REQUEST,
  FST_ERR_VALIDATION: ErrorCode.BAD_REQUEST,
  MER_ERR_GQL_QUERY_DEPTH: ErrorCode.QUERY_TOO_DEEP,
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  MER_ERR_GQL_PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.PERSISTED_QUERY_REQUIRED,
};

function textOr(message: unknown, fallback: string): string {
  return typeof message === 'string' && message ? message : fallback;
}

function codeForStatus(status: number): ErrorCode {
  const match = (Object.entries(STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (match) return match[0];
  return status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST;
}

/**
 * The single mapping from anything thrown to what a client sees. Unknown errors never leak their
 * message: the client gets INTERNAL and an errorId that the caller logs with the stack.
 */
export function toErrorBody(error: unknown, newErrorId: () => string): ErrorBody {
  if (error instanceof DomainError) {
    return { status: error.status, code: error.code, message: error.message };
  }
  const candidate = error as {
    statusCode?: unknown;
    status?: unknown;
    code?: unknown;
    message?: unknown;
    getStatus?: () => number;
    getResponse?: () => unknown;
  };
  if (typeof candidate?.code === 'string' && FASTIFY_CODES[candidate.code]) {
    const code = FASTIFY_CODES[candidate.code];
    return { status: STATUS[code], code, message: textOr(candidate.message, code) };
  }
  // NestJS HttpException (e.g. a 404 for an unknown route)
  if (typeof candidate?.getStatus === 'function') {
    const status = candidate.getStatus();
    if (status < 500) {
      const response = candidate.getResponse?.();
      const message =
        typeof response === 'object' && response && 'message' in response ? String(response.message) : textOr(candidate.message, 'Request failed');
      return { status, code: codeForStatus(status), message };
    }
  }
  if (isRedisOutage(error)) {
    return { status: 503, code: ErrorCode.UNAVAILABLE, message: 'A backing service is unavailable; retry later' };
  }
  const status = typeof candidate?.statusCode === 'number' ? candidate.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, code: codeForStatus(status), message: textOr(candidate.message, 'Bad request') };
  }
  return { status: 500, code: ErrorCode.INTERNAL, message: 'Internal error', errorId: newErrorId() };
}

/**
 * ioredis's ways of saying Redis is unreachable. Work that needs Redis and cannot go on without
 * it (storing a webhook's news, enqueuing) answers 503 so the caller retries; it is not a bug.
 */
function isRedisOutage(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  if (e?.name === 'MaxRetriesPerRequestError') return true;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ECONNRESET') return true;
  return typeof e?.message === 'string' && /^(Command timed out|Connection is closed\.|Stream isn't writeable)/.test(e.message);
}
