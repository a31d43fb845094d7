/**
 * One error type for the whole service. Adapters turn SDK and HTTP failures into it; one place
 * (`mapError`, error-mapper.ts) maps it, and anything else thrown, to an HTTP status and a code.
 * The codes are part of the interface contract: add, rename nothing.
 */
export enum ErrorCode {
  BAD_REQUEST = 'BAD_REQUEST',
  /** The query does not parse, or fails GraphQL validation (an unknown field, introspection while it is off). */
  GRAPHQL_VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED',
  /** The HTTP request was not received within HTTP_REQUEST_TIMEOUT_MS. */
  REQUEST_TIMEOUT = 'REQUEST_TIMEOUT',
  /** The HTTP request's headers are larger than Node's limit. */
  HEADERS_TOO_LARGE = 'HEADERS_TOO_LARGE',
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
  [ErrorCode.GRAPHQL_VALIDATION_FAILED]: 400,
  [ErrorCode.REQUEST_TIMEOUT]: 408,
  [ErrorCode.HEADERS_TOO_LARGE]: 431,
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

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

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
    return statusOf(this.code);
  }

  /**
   * graphql-js copies an original error's `extensions` onto the GraphQLError it wraps it in, so
   * the code reaches clients where no error formatter runs (graphql-ws subscription errors).
   */
  get extensions(): { code: ErrorCode } {
    return { code: this.code };
  }
}

/** The codes an upstream's failure takes. */
export type UpstreamErrorCode =
  | ErrorCode.UPSTREAM_UNAVAILABLE
  | ErrorCode.UPSTREAM_TIMEOUT
  | ErrorCode.UPSTREAM_RATE_LIMITED
  | ErrorCode.BUDGET_EXHAUSTED
  | ErrorCode.BAD_REQUEST
  | ErrorCode.UNAUTHENTICATED;

/** An upstream (Segment, Twilio) failed in a way worth retrying or reporting. */
export class UpstreamError extends DomainError {
  override name = 'UpstreamError';
  declare readonly code: UpstreamErrorCode;
  constructor(
    readonly source: string,
    code: UpstreamErrorCode,
    message: string,
    readonly upstreamStatus?: number,
    readonly retryAfterMs?: number,
    /** The upstream's own error code (Twilio's `20404`, Segment's `error.code`), for logs; never its message. */
    readonly upstreamCode?: string,
  ) {
    super(code, message);
  }

  get retryable(): boolean {
    return this.code !== ErrorCode.BAD_REQUEST && this.code !== ErrorCode.UNAUTHENTICATED && this.code !== ErrorCode.BUDGET_EXHAUSTED;
  }
}
