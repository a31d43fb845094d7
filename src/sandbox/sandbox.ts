import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CallLog, type CallFilter, type CallRecord } from './calls';
import { SandboxStore, type SandboxData } from './data';
import { Faults, type FaultRule, type SandboxRoute } from './faults';
import { FlexTokens, type IssueTokenOptions } from './flex-tokens';
import { seedCustomers, seedWorld } from './seed';
import { createSegmentProfilesServer } from './segment-profiles.server';
import { Holds, type SandboxContext } from './service-server';
import { createTrackingServer, TrackingRecorder } from './tracking.server';
import { createTwilioServer } from './twilio.server';

/**
 * The sandbox: Segment's Profile and tracking APIs and the parts of Twilio's REST API the service
 * uses, served on loopback from deterministic demo data, so the real HTTP adapters run unchanged
 * in tests, benchmarks and `npm start` without credentials.
 */

export type { CallRecord } from './calls';
export type { NewSegmentEvent, ReservationStatus, SandboxData, SandboxReservation, SandboxTaskState, TaskUpdateRecord } from './data';
export type { FaultRule, SandboxRoute, SandboxService } from './faults';
export type { IssueTokenOptions, TokenValidation } from './flex-tokens';
export type {
  Archetype,
  SandboxAccount,
  SandboxAgent,
  SandboxConversation,
  SandboxCustomer,
  SandboxMessage,
  SandboxParticipant,
  SandboxTask,
  SegmentEventWire,
} from './seed';

export interface SandboxOptions {
  /** Number of seeded customers, default 50. */
  customers?: number;
  /** PRNG seed, default 42; the same seed gives identical data (timestamps relative to `now`). */
  seed?: number;
  /** Reference time for generated timestamps, default the time of start. */
  now?: Date;
  /** Default 127.0.0.1 */
  host?: string;
  /** The Segment custom external-id type that holds phone numbers, default 'phone'. */
  phoneIdType?: string;
  /** No start-up line on stderr. */
  quiet?: boolean;
}

export interface SandboxCredentials {
  spaceId: string;
  accessToken: string;
  accountSid: string;
  authToken: string;
  workspaceSid: string;
  writeKey: string;
  /** Flex token of an agent (roles ['agent']). */
  agentToken: string;
  /** Flex token of a supervisor (roles ['supervisor']). */
  supervisorToken: string;
}

export interface Sandbox {
  /** Profile API base (routes under /v1/spaces/...). */
  segmentUrl: string;
  /** Tracking API host (POST /v1/batch). */
  trackingUrl: string;
  /** Replaces https://{conversations,taskrouter,iam}.twilio.com, path kept. */
  twilioUrl: string;
  credentials: SandboxCredentials;
  data: SandboxData;
  faults: { add(rule: FaultRule): void; clear(): void };
  calls: {
    log(): CallRecord[];
    count(filter?: CallFilter): number;
    maxPerSecond(service: CallRecord['service'], route?: SandboxRoute): number;
    busiestSecond(service: CallRecord['service'], route?: SandboxRoute): { at: number; calls: number };
    reset(): void;
  };
  tracking: { batches(): unknown[]; events(): Record<string, unknown>[] };
  /** A new Flex token the IAM endpoint accepts until it expires. */
  issueToken(options: IssueTokenOptions): string;
  /** IAM answers `valid: false` for this token from now on. */
  revokeToken(token: string): void;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const customers = options.customers ?? 50;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(customers) || customers < 0) throw new Error(`customers must be a non-negative integer, got ${customers}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const now = options.now ?? new Date();
  const host = options.host ?? '127.0.0.1';
  const phoneIdType = options.phoneIdType ?? 'phone';

  // Sandbox time starts at `now` and moves with the wall clock, so updates and new messages
  // come after the seeded data even when `now` is fixed in the past or future.
  const startedAt = Date.now();
  const clock = (): number => now.getTime() + (Date.now() - startedAt);

  // The data follows the seed; the auth token does not: it signs the Flex tokens and checks the
  // Twilio signatures, and one derived from a public seed would let anyone forge both.
  const world = { ...seedWorld(seed), authToken: randomBytes(16).toString('hex') };
  const store = new SandboxStore(world, seedCustomers(world, { customers, seed, now, phoneIdType }), phoneIdType, seed, clock);
  // Token expiry is wall-clock time: the service may compare `expiration` with its own clock.
  const tokens = new FlexTokens(world, Date.now);
  const recorder = new TrackingRecorder();
  const context: SandboxContext = { faults: new Faults(), calls: new CallLog(), holds: new Holds() };

  const servers = {
    segment: createSegmentProfilesServer(store, context),
    tracking: createTrackingServer(world.writeKey, recorder, context),
    twilio: createTwilioServer(store, tokens, context),
  };
  const apps = Object.values(servers);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      context.holds.releaseAll();
      await Promise.all(apps.map((app) => app.close()));
    })();
    return closing;
  };

  let urls: string[];
  try {
    urls = await Promise.all(apps.map((app) => listen(app, host)));
  } catch (error) {
    await close();
    throw error;
  }
  const [segmentUrl, trackingUrl, twilioUrl] = urls;
  if (!options.quiet) {
    process.stderr.write(`sandbox: ${customers} customers (seed ${seed}); segment ${segmentUrl}, tracking ${trackingUrl}, twilio ${twilioUrl}\n`);
  }

  const agent = world.agents[0];
  const supervisor = world.agents[1];
  return {
    segmentUrl,
    trackingUrl,
    twilioUrl,
    credentials: {
      spaceId: world.spaceId,
      accessToken: world.accessToken,
      accountSid: world.accountSid,
      authToken: world.authToken,
      workspaceSid: world.workspaceSid,
      writeKey: world.writeKey,
      agentToken: tokens.issue({ identity: agent.identity, roles: ['agent'] }),
      supervisorToken: tokens.issue({ identity: supervisor.identity, roles: ['supervisor'] }),
    },
    data: store,
    faults: { add: (rule) => context.faults.add(rule), clear: () => context.faults.clear() },
    calls: {
      log: () => context.calls.log(),
      count: (filter) => context.calls.count(filter),
      maxPerSecond: (service, route) => context.calls.maxPerSecond(service, route),
      busiestSecond: (service, route) => context.calls.busiestSecond(service, route),
      reset: () => context.calls.reset(),
    },
    tracking: { batches: () => recorder.batches(), events: () => recorder.events() },
    issueToken: (tokenOptions) => tokens.issue(tokenOptions),
    revokeToken: (token) => tokens.revoke(token),
    close,
  };
}

async function listen(app: FastifyInstance, host: string): Promise<string> {
  await app.listen({ port: 0, host });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('sandbox server has no TCP address');
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${hostPart}:${address.port}`;
}
