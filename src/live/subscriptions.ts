import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { NoSchemaIntrospectionCustomRule, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { WebSocket } from 'ws';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { plainDigest } from '../common/digest';
import { toGraphQLError } from '../common/error-mapper';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { AccessPolicy, type PolicyView } from '../security/access-policy';
import { complexityOf } from '../security/graphql-limits';
import { RateLimits } from '../security/rate-limits';

type ConnectionInit = Record<string, unknown> | null | undefined;

/** The Flex token a graphql-ws client sends in its connection_init payload, under any usual name. */
export function tokenFromConnectionInit(payload: ConnectionInit): string | null {
  if (!payload || typeof payload !== 'object') return null;
  for (const name of ['token', 'flexToken', 'X-Flex-Token', 'x-flex-token', 'Authorization', 'authorization']) {
    const value = payload[name];
    if (typeof value === 'string' && value.trim()) return value.replace(/^Bearer\s+/i, '').trim();
  }
  return null;
}

/** Close codes, as graphql-ws uses them (4400 bad message, 4401 no init yet, 4403 forbidden, 4409 duplicate id, 4429 too many). */
export const CLOSE = {
  badMessage: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  duplicate: 4409,
  tooLarge: 4413,
  tooMany: 4429,
} as const;

/** Subscriptions one connection may hold at once. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 20;
/** Subscribe messages one connection may send per minute. */
export const MAX_SUBSCRIBES_PER_MINUTE = 60;
const MINUTE_MS = 60_000;
/** Room for variables beside the query in one message. */
const VARIABLES_BYTES = 48 * 1024;

/** What the pipeline knows of one WebSocket connection. */
export interface LiveConnection {
  socket: WebSocket;
  /** The token connection_init carried (read before Mercurius handles the message). */
  initToken: string | null;
  initialised: boolean;
  principal: Principal | null;
  /** Subscription ids running on this connection. */
  active: Set<string>;
  /** Each subscribe message's variables, until its document is measured. */
  variables: Map<string, Record<string, unknown> | undefined>;
  windowStartedAt: number;
  subscribesInWindow: number;
  expiry: NodeJS.Timeout | null;
}

/** What a subscription's GraphQL context carries (besides Mercurius's own). */
export interface LiveContext {
  principal?: Principal | null;
  policyView?: PolicyView;
  connection?: LiveConnection;
}

/** graphql-ws sends a subscribe's errors as they are thrown (no error formatter): they are mapped here. */
const refuse = (code: ErrorCode, message: string) => toGraphQLError(new DomainError(code, message));

/**
 * The request pipeline's steps for graphql-ws (see pipeline/request-pipeline.ts): every message
 * is screened before Mercurius handles it (shape, size, one connection_init, subscribe rate,
 * duplicate ids); connection_init authenticates once (a socket whose credentials fail is closed
 * with 4403, and a connectionInit carried in a subscribe changes nothing and asks IAM nothing);
 * each subscribe is checked for expiry, validated and measured like an HTTP query, and counted
 * against the connection's cap; each push checks expiry; the socket is closed with 4403 when its
 * token expires.
 */
@Injectable()
export class SubscriptionPipeline {
  private readonly logger = new Logger(SubscriptionPipeline.name);
  private readonly connections = new WeakMap<WebSocket, LiveConnection>();
  private readonly validationRules;
  private readonly maxMessageBytes: number;

  constructor(
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly policy: AccessPolicy,
    private readonly limits: RateLimits,
  ) {
    this.validationRules = config.graphql.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
    this.maxMessageBytes = config.graphql.maxQueryBytes + VARIABLES_BYTES;
  }

  /** Mercurius's `subscription` options. */
  options() {
    return {
      // Called at connection_init, with the socket: authentication, once per connection.
      context: (socket: WebSocket, request: FastifyRequest) => this.connectionInit(socket, request),
    };
  }

  /** The WebSocket server's `connection` event, before Mercurius sees the socket: every message is screened first. */
  accept(socket: WebSocket): void {
    const connection: LiveConnection = {
      socket,
      initToken: null,
      initialised: false,
      principal: null,
      active: new Set(),
      variables: new Map(),
      windowStartedAt: Date.now(),
      subscribesInWindow: 0,
      expiry: null,
    };
    this.connections.set(socket, connection);
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.screen(connection, data, isBinary));
    socket.once('close', () => {
      if (connection.expiry) clearTimeout(connection.expiry);
      connection.active.clear();
      connection.variables.clear();
    });
  }

  private screen(connection: LiveConnection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const { socket } = connection;
    if (socket.readyState !== socket.OPEN) return;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (size > this.maxMessageBytes) return this.close(connection, CLOSE.tooLarge, 'Message too large');
    let message: unknown;
    try {
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      message = isBinary ? null : JSON.parse(text);
    } catch {
      message = null;
    }
    if (!message || typeof message !== 'object' || Array.isArray(message) || typeof (message as { type?: unknown }).type !== 'string') {
      return this.close(connection, CLOSE.badMessage, 'Invalid message received');
    }
    const { type, id, payload } = message as { type: string; id?: unknown; payload?: unknown };
    switch (type) {
      case 'connection_init':
        if (connection.initialised) return this.close(connection, CLOSE.tooMany, 'Too many initialisation requests');
        connection.initialised = true;
        connection.initToken = tokenFromConnectionInit(payload as ConnectionInit);
        return;
      case 'subscribe': {
        if (!connection.initialised) return this.close(connection, CLOSE.unauthorized, 'Unauthorized');
        if (typeof id !== 'string' || id.length === 0 || id.length > 128 || !payload || typeof payload !== 'object') {
          return this.close(connection, CLOSE.badMessage, 'Invalid message received');
        }
        if (connection.active.has(id) || connection.variables.has(id))
          return this.close(connection, CLOSE.duplicate, `Subscriber for ${id.slice(0, 32)} already exists`);
        const now = Date.now();
        if (now - connection.windowStartedAt >= MINUTE_MS) {
          connection.windowStartedAt = now;
          connection.subscribesInWindow = 0;
        }
        if (++connection.subscribesInWindow > MAX_SUBSCRIBES_PER_MINUTE) return this.close(connection, CLOSE.tooMany, 'Too many subscribe messages');
        const variables = (payload as { variables?: unknown }).variables;
        connection.variables.set(
          id,
          variables && typeof variables === 'object' && !Array.isArray(variables) ? (variables as Record<string, unknown>) : undefined,
        );
        return;
      }
      case 'complete':
        // Before the connection is acknowledged Mercurius has no context to end a subscription
        // with: it fails, logs a stack and drops the socket without a close code. Nothing runs yet.
        if (!connection.principal) return this.close(connection, CLOSE.unauthorized, 'Unauthorized');
        if (typeof id !== 'string') return this.close(connection, CLOSE.badMessage, 'Invalid message received');
        connection.active.delete(id);
        connection.variables.delete(id);
        return;
      case 'ping':
      case 'pong':
        return;
      default:
        return this.close(connection, CLOSE.badMessage, 'Invalid message received');
    }
  }

  /** Mercurius `subscription.context`, at connection_init: who the socket belongs to. */
  private async connectionInit(socket: WebSocket, request: FastifyRequest): Promise<LiveContext> {
    const connection = this.connections.get(socket);
    if (!connection) return {};
    const token = connection.initToken;
    connection.initToken = null;
    try {
      if (!token) throw new DomainError(ErrorCode.UNAUTHENTICATED, 'A Flex token is required in connection_init');
      const principal = await this.auth.authenticate(token, () => this.limits.admitNewToken(request.ip));
      connection.principal = principal;
      // The socket lives as long as its token, not longer.
      connection.expiry = setTimeout(() => this.close(connection, CLOSE.forbidden, 'Token expired'), Math.max(0, principal.expiresAt - Date.now()));
      connection.expiry.unref();
      return { principal, policyView: this.policy.viewFor(principal), connection };
    } catch (error) {
      this.logger.debug(
        { reason: error instanceof DomainError ? error.code : 'INTERNAL', token: token ? plainDigest(token, 8) : null },
        'WebSocket connection refused',
      );
      this.close(connection, error instanceof DomainError && error.code === ErrorCode.RATE_LIMITED ? CLOSE.tooMany : CLOSE.forbidden, 'Forbidden');
      return { principal: null, connection };
    }
  }

  /** Mercurius preSubscriptionParsing: the query's size. */
  async beforeParsing(_schema: GraphQLSchema, source: string, context: LiveContext): Promise<void> {
    this.stillValid(context);
    if (Buffer.byteLength(source, 'utf8') > this.config.graphql.maxQueryBytes) {
      throw refuse(ErrorCode.QUERY_TOO_LARGE, `The query is larger than ${this.config.graphql.maxQueryBytes} bytes`);
    }
  }

  /** Mercurius preSubscriptionExecution: expiry, validation, complexity, the connection's cap. */
  async beforeExecution(schema: GraphQLSchema, document: DocumentNode, context: LiveContext, id: string): Promise<void> {
    const connection = this.stillValid(context);
    const variables = connection.variables.get(id);
    connection.variables.delete(id);
    const errors = validate(schema, document, this.validationRules);
    if (errors.length > 0) throw toGraphQLError(errors[0]);
    let complexity: number;
    try {
      complexity = complexityOf(schema, document, variables);
    } catch (error) {
      throw toGraphQLError(error instanceof DomainError ? error : new DomainError(ErrorCode.BAD_REQUEST, 'The subscription could not be measured'));
    }
    if (complexity > this.config.graphql.maxComplexity) {
      throw refuse(ErrorCode.QUERY_TOO_COMPLEX, `The subscription's complexity ${complexity} exceeds the limit of ${this.config.graphql.maxComplexity}`);
    }
    if (connection.active.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      throw refuse(ErrorCode.RATE_LIMITED, `At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`);
    }
    connection.active.add(id);
  }

  /**
   * Mercurius onSubscriptionResolution: a push goes only to a socket whose token is still valid.
   * An expired one is closed (4403) here, so the push that follows finds it closed and is dropped.
   */
  async beforePush(_execution: unknown, context: LiveContext): Promise<void> {
    const { connection, principal } = context;
    if (connection && (!principal || principal.expiresAt <= Date.now())) this.close(connection, CLOSE.forbidden, 'Token expired');
  }

  /** Mercurius onSubscriptionEnd: the client stopped a subscription. */
  async ended(context: LiveContext | null | undefined, id: string): Promise<void> {
    context?.connection?.active.delete(id);
  }

  /** The connection's principal while its token is valid; otherwise the socket is closed (4403) and nothing goes on. */
  private stillValid(context: LiveContext): LiveConnection {
    const connection = context.connection;
    const principal = context.principal;
    if (!connection || !principal) {
      if (connection) this.close(connection, CLOSE.forbidden, 'Forbidden');
      throw refuse(ErrorCode.UNAUTHENTICATED, 'A Flex token is required in connection_init');
    }
    if (principal.expiresAt <= Date.now()) {
      this.close(connection, CLOSE.forbidden, 'Token expired');
      throw refuse(ErrorCode.UNAUTHENTICATED, 'The Flex token has expired');
    }
    return connection;
  }

  private close(connection: LiveConnection, code: number, reason: string): void {
    const { socket } = connection;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  }
}
