import { z } from 'zod';

/**
 * The one place that reads the environment. Parsed once at start; a bad value stops the start
 * with a message naming the variable. Everything else receives the typed `AppConfig`.
 */

const duration = (fallback: number) => z.coerce.number().int().min(0).max(86_400_000).default(fallback);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url({ protocol: /^https?$/ }).optional())
  .optional();

const clusterNodes = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (value === '') return undefined;
    const nodes = value.split(',').map((part) => {
      const match = /^\s*([^:\s]+):(\d{1,5})\s*$/.exec(part);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port` });
        return { host: '', port: 0 };
      }
      return { host: match[1], port: Number(match[2]) };
    });
    return nodes;
  })
  .optional();

const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

const origins = z
  .string()
  .default('https://flex.twilio.com')
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  // A wildcard would hand every site an agent's token-bearing requests: name each origin.
  .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s*]+$/, 'comma-separated origins such as https://flex.twilio.com')).min(1));

/** Fastify's trustProxy: true (any proxy), or the proxies' addresses/CIDRs, comma-separated. */
const trustProxy = optionalString.transform((value): boolean | string[] => {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return value.split(',').map((part) => part.trim());
});

export const envSchema = z
  .object({
    /** `production` makes every upstream setting required, even with no credential set. */
    NODE_ENV: optionalString,
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    HOST: z.string().trim().min(1).default('127.0.0.1'),
    PUBLIC_BASE_URL: optionalUrl,
    /** /metrics on its own port (internal network only) instead of PORT. */
    METRICS_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1).max(65535).optional()),
    /** Audit lines go here (appended) instead of stdout; written whatever LOG_LEVEL says. */
    AUDIT_LOG_FILE: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    REDIS_URL: optionalUrl.or(
      z
        .string()
        .regex(/^rediss?:\/\//)
        .optional(),
    ),
    REDIS_CLUSTER_NODES: clusterNodes,
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_:.-]{0,40}$/, 'letters, digits and _ : . - only')
      .default('cc:'),
    REDIS_COMMAND_TIMEOUT_MS: duration(500),

    SEGMENT_SPACE_ID: optionalString,
    SEGMENT_ACCESS_TOKEN: optionalString,
    SEGMENT_PROFILE_API_URL: z.url({ protocol: /^https?$/ }).default('https://profiles.segment.com'),
    SEGMENT_PHONE_ID_TYPE: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'a Segment external-id type such as phone')
      .default('phone'),
    SEGMENT_MAX_RPS: z.coerce.number().int().min(1).max(10_000).default(50),
    SEGMENT_BUDGET_WAIT_MS: duration(1_000),
    SEGMENT_BUDGET_BACKGROUND_WAIT_MS: duration(5_000),
    SEGMENT_WRITE_KEY: optionalString,
    SEGMENT_TRACKING_HOST: z.url({ protocol: /^https?$/ }).default('https://api.segment.io'),
    SEGMENT_WEBHOOK_SECRET: optionalString,
    TRACKING_FLUSH_AT: z.coerce.number().int().min(1).max(1000).default(100),
    TRACKING_FLUSH_INTERVAL_MS: duration(10_000),
    TRACKING_SHUTDOWN_TIMEOUT_MS: duration(5_000),
    TRACKING_VIEW_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),

    TWILIO_ACCOUNT_SID: optionalString.pipe(
      z
        .string()
        .regex(/^AC[0-9a-fA-F]{32}$/, 'an account SID (AC + 32 hex)')
        .optional(),
    ),
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_WORKSPACE_SID: optionalString.pipe(
      z
        .string()
        .regex(/^WS[0-9a-fA-F]{32}$/, 'a workspace SID (WS + 32 hex)')
        .optional(),
    ),
    TWILIO_API_BASE_URL: optionalUrl,

    ROUTING_RULES_FILE: optionalString,
    ROUTING_DEADLINE_MS: duration(1_500),
    ENRICHMENT_JOB_DEADLINE_MS: duration(3_000),
    ENRICHMENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    ENRICHMENT_CLAIM_IDLE_MS: z.coerce.number().int().min(100).max(86_400_000).default(30_000),
    ENRICHMENT_WORKERS: z.coerce.number().int().min(1).max(100).default(4),
    ENRICHMENT_SHUTDOWN_GRACE_MS: duration(5_000),
    ENRICHMENT_DEDUPE_TTL_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(7 * 86_400_000)
      .default(86_400_000),
    AUTH_MODE: z.enum(['flex', 'dev']).optional(),
    ACCESS_POLICY_FILE: optionalString,
    ACCESS_STRICT: flag,
    /** Short: a task offered a moment ago must open at once, and one taken away must close soon. */
    ACCESS_STRICT_CACHE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    /** After an erasure the customer's identifiers resolve to nobody this long (Segment's own deletion takes up to 30 days). */
    ERASURE_SUPPRESSION_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(90 * 24 * 3_600_000)
      .default(30 * 24 * 3_600_000),

    CORS_ORIGINS: origins,
    TRUST_PROXY: trustProxy,
    HTTP_REQUEST_TIMEOUT_MS: duration(10_000),
    HTTP_SHUTDOWN_GRACE_MS: duration(5_000),
    RATE_LIMIT_WINDOW_MS: duration(60_000),
    RATE_LIMIT_WORKER_MAX: z.coerce.number().int().min(1).default(600),
    RATE_LIMIT_IP_MAX: z.coerce.number().int().min(1).default(6_000),

    GRAPHQL_INTROSPECTION: flag,
    GRAPHQL_IDE: flag,
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(10),
    GRAPHQL_MAX_COMPLEXITY: z.coerce.number().int().min(10).default(5_000),
    GRAPHQL_MAX_QUERY_BYTES: z.coerce
      .number()
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(16_384),
    GRAPHQL_PERSISTED_ONLY: flag,
    GRAPHQL_PERSISTED_QUERIES_FILE: optionalString,

    UPSTREAM_TIMEOUT_MS: duration(2_000),
    UPSTREAM_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    /** One call, retries and budget waits included; unset: two attempts and the longest backoff (`upstreamDeadline`). */
    UPSTREAM_DEADLINE_MS: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(86_400_000).optional()),
    DEFAULT_PHONE_REGION: z
      .string()
      .regex(/^[A-Z]{2}$/, 'an ISO 3166 country code such as US')
      .default('US'),
    /** Key of the digests that stand for phones and emails in cache keys, audit lines and access checks. */
    IDENTIFIER_HASH_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters (e.g. openssl rand -base64 32)').optional()),
    EVENTS_WINDOW: z.coerce.number().int().min(10).max(1000).default(200),
    CONVERSATIONS_WINDOW: z.coerce.number().int().min(10).max(1000).default(200),
    MESSAGES_WINDOW: z.coerce.number().int().min(1).max(100).default(50),
    /** A trait Segment last set longer ago than this is shown (and marked) as stale. */
    TRAIT_STALE_AFTER_MS: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(10 * 365 * 86_400_000)
      .default(90 * 86_400_000),

    CACHE_L1_MAX_ITEMS: z.coerce.number().int().min(100).default(50_000),
    CACHE_L1_MAX_SIZE_MB: z.coerce.number().int().min(1).default(256),
    CACHE_LOCK_TIMEOUT_MS: duration(5_000),
    CACHE_TTL_TRAITS_MS: duration(5 * 60_000),
    CACHE_TTL_EVENTS_MS: duration(60_000),
    CACHE_TTL_EXTERNAL_IDS_MS: duration(30 * 60_000),
    CACHE_TTL_CONVERSATIONS_MS: duration(60_000),
    CACHE_TTL_MESSAGES_MS: duration(60_000),
    CACHE_TTL_RESOLUTION_MS: duration(60 * 60_000),
    CACHE_TTL_NEGATIVE_MS: duration(60_000),
    CACHE_GRACE_MS: duration(6 * 60 * 60_000),
    /** Whole customer context answers kept in process (0 turns them off). */
    CACHE_ANSWERS_MAX_MB: z.coerce.number().int().min(0).default(64),
    CACHE_ANSWERS_MAX_AGE_MS: duration(30_000),

    SANDBOX_CUSTOMERS: z.coerce.number().int().min(6).max(100_000).default(50),
    SANDBOX_SEED: z.coerce.number().int().default(42),
  })
  .superRefine((env, ctx) => {
    requireProductionSettings(env, ctx);
    // dev mode trusts the sandbox's IAM; with real credentials it would be a production service
    // running under a name that says "not checked properly".
    if (env.AUTH_MODE === 'dev' && env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_MODE'], message: 'dev is only for the sandbox: unset it (or use flex) with Twilio credentials' });
    }
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT (unset it to serve /metrics on PORT)' });
    }
    if (env.GRAPHQL_PERSISTED_ONLY && !env.GRAPHQL_PERSISTED_QUERIES_FILE) {
      ctx.addIssue({ code: 'custom', path: ['GRAPHQL_PERSISTED_ONLY'], message: 'needs GRAPHQL_PERSISTED_QUERIES_FILE' });
    }
    // Such a deadline would cut every slow attempt short: UPSTREAM_TIMEOUT_MS would never apply.
    if (env.UPSTREAM_DEADLINE_MS !== undefined && env.UPSTREAM_DEADLINE_MS < env.UPSTREAM_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPSTREAM_DEADLINE_MS'],
        message: `must be at least UPSTREAM_TIMEOUT_MS (${env.UPSTREAM_TIMEOUT_MS}), one attempt's timeout`,
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

/** The credentials of the two upstreams; with none of them set the service runs on its sandbox. */
const CREDENTIAL_PAIRS = [
  ['SEGMENT_SPACE_ID', 'SEGMENT_ACCESS_TOKEN'],
  ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'],
] as const;
type CredentialName = (typeof CREDENTIAL_PAIRS)[number][number];

function anyCredential(env: Pick<Env, CredentialName>): boolean {
  return CREDENTIAL_PAIRS.some((pair) => pair.some((name) => env[name] !== undefined));
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * A half-configured service must not start: a missing variable would otherwise switch one side to
 * the sandbox's demo data (or leave webhooks unverifiable) without anyone noticing. In production
 * (`NODE_ENV=production`, or any upstream credential set) every upstream setting is required.
 */
function requireProductionSettings(
  env: Pick<Env, CredentialName | 'TWILIO_WORKSPACE_SID' | 'SEGMENT_WEBHOOK_SECRET' | 'PUBLIC_BASE_URL' | 'NODE_ENV'>,
  ctx: z.RefinementCtx,
): void {
  const production = env.NODE_ENV === 'production';
  if (!production && !anyCredential(env)) return;
  const why = production ? 'required with NODE_ENV=production' : 'required once any Segment or Twilio credential is set';
  for (const pair of CREDENTIAL_PAIRS) {
    for (const name of pair) {
      if (env[name] !== undefined) continue;
      const other = pair.find((n) => n !== name)!;
      const message = env[other] !== undefined ? `missing: ${other} is set, so this half of the pair is needed too` : `missing: ${why}`;
      ctx.addIssue({ code: 'custom', path: [name], message });
    }
  }
  if (!env.TWILIO_WORKSPACE_SID)
    ctx.addIssue({ code: 'custom', path: ['TWILIO_WORKSPACE_SID'], message: `missing: ${why} (tasks are stamped in this workspace)` });
  if (!env.SEGMENT_WEBHOOK_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['SEGMENT_WEBHOOK_SECRET'], message: `missing: ${why} (the Segment webhook destination's shared secret)` });
  }
  if (!env.PUBLIC_BASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: `missing: ${why} (the https URL Twilio and Segment call; Twilio signs it)` });
  } else {
    const url = new URL(env.PUBLIC_BASE_URL);
    // Plain http only on loopback outside production: Twilio cannot call such a URL, so it is a local test stand.
    if (url.protocol !== 'https:' && (production || !isLoopback(url))) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'must be an https URL (Twilio signs the URL it calls)' });
    }
  }
}

/**
 * Unset, an upstream call's deadline leaves room for two whole attempts and the backoff's longest
 * delay (1 s) between them: a timed-out attempt is still retried once, as before the deadline,
 * but a third does not start (2 s attempts: 5 s instead of over 6 s, budget waits apart).
 */
function upstreamDeadline(env: Pick<Env, 'UPSTREAM_DEADLINE_MS' | 'UPSTREAM_TIMEOUT_MS'>): number {
  return env.UPSTREAM_DEADLINE_MS ?? 2 * env.UPSTREAM_TIMEOUT_MS + 1_000;
}

export interface CachePolicy {
  ttlMs: number;
  graceMs: number;
}

function build(env: Env) {
  const twilioConfigured = Boolean(env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN);
  const segmentConfigured = Boolean(env.SEGMENT_SPACE_ID && env.SEGMENT_ACCESS_TOKEN);
  // The schema refuses a half-set pair, so this is "nothing set at all".
  const sandbox = !twilioConfigured && !segmentConfigured;
  const policy = (ttlMs: number): CachePolicy => ({ ttlMs, graceMs: env.CACHE_GRACE_MS });
  return {
    port: env.PORT,
    host: env.HOST,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    metricsPort: env.METRICS_PORT,
    logLevel: env.LOG_LEVEL,
    /** True when no upstream credential is set: `main` starts the sandbox and points both upstreams there. */
    sandbox,
    redis: {
      url: env.REDIS_URL,
      clusterNodes: env.REDIS_CLUSTER_NODES,
      keyPrefix: env.REDIS_KEY_PREFIX,
      commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    },
    segment: {
      configured: segmentConfigured,
      spaceId: env.SEGMENT_SPACE_ID ?? '',
      accessToken: env.SEGMENT_ACCESS_TOKEN ?? '',
      profileApiUrl: env.SEGMENT_PROFILE_API_URL.replace(/\/$/, ''),
      phoneIdType: env.SEGMENT_PHONE_ID_TYPE,
      maxRps: env.SEGMENT_MAX_RPS,
      budgetWaitMs: env.SEGMENT_BUDGET_WAIT_MS,
      budgetBackgroundWaitMs: env.SEGMENT_BUDGET_BACKGROUND_WAIT_MS,
      writeKey: env.SEGMENT_WRITE_KEY,
      trackingHost: env.SEGMENT_TRACKING_HOST.replace(/\/$/, ''),
      webhookSecret: env.SEGMENT_WEBHOOK_SECRET,
    },
    twilio: {
      configured: twilioConfigured,
      accountSid: env.TWILIO_ACCOUNT_SID ?? '',
      authToken: env.TWILIO_AUTH_TOKEN ?? '',
      workspaceSid: env.TWILIO_WORKSPACE_SID ?? '',
      apiBaseUrl: env.TWILIO_API_BASE_URL?.replace(/\/$/, ''),
    },
    routing: { rulesFile: env.ROUTING_RULES_FILE, deadlineMs: env.ROUTING_DEADLINE_MS },
    enrichment: {
      jobDeadlineMs: env.ENRICHMENT_JOB_DEADLINE_MS,
      maxAttempts: env.ENRICHMENT_MAX_ATTEMPTS,
      claimIdleMs: env.ENRICHMENT_CLAIM_IDLE_MS,
      workers: env.ENRICHMENT_WORKERS,
      shutdownGraceMs: env.ENRICHMENT_SHUTDOWN_GRACE_MS,
      dedupeTtlMs: env.ENRICHMENT_DEDUPE_TTL_MS,
    },
    auth: { mode: env.AUTH_MODE ?? (twilioConfigured ? 'flex' : 'dev') },
    audit: { file: env.AUDIT_LOG_FILE },
    access: { policyFile: env.ACCESS_POLICY_FILE, strict: env.ACCESS_STRICT, strictCacheMs: env.ACCESS_STRICT_CACHE_MS },
    erasure: { suppressionMs: env.ERASURE_SUPPRESSION_MS },
    http: {
      corsOrigins: env.CORS_ORIGINS,
      trustProxy: env.TRUST_PROXY,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      shutdownGraceMs: env.HTTP_SHUTDOWN_GRACE_MS,
      rateLimit: { windowMs: env.RATE_LIMIT_WINDOW_MS, workerMax: env.RATE_LIMIT_WORKER_MAX, ipMax: env.RATE_LIMIT_IP_MAX },
    },
    graphql: {
      introspection: env.GRAPHQL_INTROSPECTION,
      ide: env.GRAPHQL_IDE,
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxComplexity: env.GRAPHQL_MAX_COMPLEXITY,
      maxQueryBytes: env.GRAPHQL_MAX_QUERY_BYTES,
      persistedQueries: { file: env.GRAPHQL_PERSISTED_QUERIES_FILE, only: env.GRAPHQL_PERSISTED_ONLY },
    },
    upstream: { timeoutMs: env.UPSTREAM_TIMEOUT_MS, deadlineMs: upstreamDeadline(env), retries: env.UPSTREAM_RETRIES },
    identity: { defaultPhoneRegion: env.DEFAULT_PHONE_REGION, hashSecret: env.IDENTIFIER_HASH_SECRET },
    windows: { events: env.EVENTS_WINDOW, conversations: env.CONVERSATIONS_WINDOW, messages: env.MESSAGES_WINDOW },
    traits: { staleAfterMs: env.TRAIT_STALE_AFTER_MS },
    cache: {
      l1MaxItems: env.CACHE_L1_MAX_ITEMS,
      l1MaxSizeMb: env.CACHE_L1_MAX_SIZE_MB,
      lockTimeoutMs: env.CACHE_LOCK_TIMEOUT_MS,
      traits: policy(env.CACHE_TTL_TRAITS_MS),
      audiences: policy(env.CACHE_TTL_TRAITS_MS),
      /** A user's linked accounts and an account's traits change as rarely as traits. */
      accounts: policy(env.CACHE_TTL_TRAITS_MS),
      events: policy(env.CACHE_TTL_EVENTS_MS),
      externalIds: policy(env.CACHE_TTL_EXTERNAL_IDS_MS),
      conversations: policy(env.CACHE_TTL_CONVERSATIONS_MS),
      messages: policy(env.CACHE_TTL_MESSAGES_MS),
      resolution: policy(env.CACHE_TTL_RESOLUTION_MS),
      negative: policy(env.CACHE_TTL_NEGATIVE_MS),
      task: policy(Math.min(env.CACHE_TTL_MESSAGES_MS, 30_000)),
      answers: { maxMb: env.CACHE_ANSWERS_MAX_MB, maxAgeMs: env.CACHE_ANSWERS_MAX_AGE_MS },
    },
    tracking: {
      flushAt: env.TRACKING_FLUSH_AT,
      flushIntervalMs: env.TRACKING_FLUSH_INTERVAL_MS,
      shutdownTimeoutMs: env.TRACKING_SHUTDOWN_TIMEOUT_MS,
      viewSampleRate: env.TRACKING_VIEW_SAMPLE_RATE,
    },
    sandboxOptions: { customers: env.SANDBOX_CUSTOMERS, seed: env.SANDBOX_SEED },
  };
}

export type Config = ReturnType<typeof build>;

/** Injection token and type of the parsed configuration. */
// The class is the injection token and the interface its shape; the class has no members to clash.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class AppConfig {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface AppConfig extends Config {}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      return `  ${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return build(parsed.data);
}
