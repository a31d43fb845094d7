import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { CustomerRoot } from '../context/customer-context.service';
import type { LookupInput } from '../identity/identity';
import { AuditSink } from './audit-sink';
import { IdentifierDigest } from '../common/identifier-digest';

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

/**
 * The request a read was made for: its id, and, on the line of its first read, the fields of the
 * request's own line (method, path, status, time) when this line stands in for it.
 */
export interface AuditedRequest {
  reqId: string;
  line?: Record<string, unknown>;
}

/** Sids name Twilio resources, not people; every other identifier is hashed. */
const SID_KEYS = new Set<keyof LookupInput>(['conversationSid', 'taskSid']);

/**
 * One structured line per read of customer data: who (identity, worker, roles), whose (profile
 * id, else hashed identifiers) and which parts. Never a value: the line is safe to ship anywhere.
 * Written to the audit sink, always on; when there is a request its id goes on the line.
 */
@Injectable()
export class AuditLog {
  /** Its own sink, always on: LOG_LEVEL does not silence the audit trail. */
  constructor(
    private readonly sink: AuditSink,
    private readonly ids: IdentifierDigest,
  ) {}

  /** Whether an audit line is written to the service's own log stream (stdout), so it can carry a request's line. */
  get beside(): boolean {
    return this.sink.toStdout;
  }

  customerRead(read: CustomerRead, request?: AuditedRequest): void {
    const who = read.principal ? { identity: read.principal.identity, workerSid: read.principal.workerSid, roles: read.principal.roles } : null;
    this.sink.write(
      {
        ...(request ? { reqId: request.reqId, ...request.line } : {}),
        audit: 'customer.read',
        who,
        whose: whose(read, (value) => this.ids.of(value, 16)),
        field: read.field,
        parts: read.parts,
        outcome: read.error ? 'refused' : 'read',
        error: read.error,
      },
      'customer data read',
    );
  }
}

function whose(read: CustomerRead, digest: (value: string) => string): Record<string, unknown> {
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
