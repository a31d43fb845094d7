import { Injectable, Logger } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import { createHash } from 'node:crypto';
import type { Logger as PinoLogger } from 'pino';
import type { Principal } from '../auth/principal';
import { CustomerRoot } from '../context/customer-context.service';
import type { LookupInput } from '../identity/identity';

export interface CustomerRead {
  principal: Principal | null;
  /** The GraphQL root field, e.g. customerContext. */
  field: string;
  /** The fields selected under it: which parts of the customer were read. */
  parts: string[];
  lookup?: LookupInput;
  taskSid?: string;
  profileId?: string;
  /** What the resolver returned (a CustomerRoot for context reads). */
  result?: unknown;
  /** The error code when the read was refused or failed. */
  error?: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 16);
/** Sids name Twilio resources, not people; every other identifier is hashed. */
const SID_KEYS = new Set<keyof LookupInput>(['conversationSid', 'taskSid']);

/**
 * One structured line per read of customer data: who (identity, worker, roles), whose (profile
 * id, else hashed identifiers) and which parts. Never a value: the line is safe to ship anywhere.
 * Written through the request's logger when there is a request, so it carries the request id.
 */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger('Audit');

  customerRead(read: CustomerRead, log?: FastifyBaseLogger): void {
    if (log && !(log as PinoLogger).isLevelEnabled('info')) return;
    const who = read.principal ? { identity: read.principal.identity, workerSid: read.principal.workerSid, roles: read.principal.roles } : null;
    const line = { audit: 'customer.read', who, whose: whose(read), field: read.field, parts: read.parts, outcome: read.error ? 'refused' : 'read', error: read.error };
    if (log) log.info({ context: 'Audit', ...line }, 'customer data read');
    else this.logger.log(line, 'customer data read');
  }
}

function whose(read: CustomerRead): Record<string, unknown> {
  if (read.result instanceof CustomerRoot) {
    if (read.result.profileKey) return { profileId: read.result.profileKey };
    return { addresses: read.result.addresses.map(digest) };
  }
  const identifiers: Record<string, string> = {};
  for (const [key, value] of Object.entries(read.lookup ?? {}) as Array<[keyof LookupInput, unknown]>) {
    if (typeof value === 'string' && value !== '') identifiers[key] = SID_KEYS.has(key) ? value : digest(value);
  }
  return { ...identifiers, ...(read.taskSid ? { taskSid: read.taskSid } : {}), ...(read.profileId ? { profileId: read.profileId } : {}) };
}
