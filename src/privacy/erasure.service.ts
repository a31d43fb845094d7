import { Injectable, Logger } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { AppConfig } from '../config/config';
import { CustomerContextService } from '../context/customer-context.service';
import type { ConversationSummary } from '../conversations/conversation.types';
import { lookupFromTaskAttributes, normalizeLookup, unique, type LookupInput } from '../identity/identity';
import { ChangeBus } from '../changes/change-bus';
import { KeptRecords } from '../changes/kept-records';
import { PendingChanges } from '../changes/pending-changes';
import { RoutingService } from '../routing/routing.service';
import { TaskSource, type TaskSnapshot } from '../tasks/task.source';
import { neutralTaskAttributes } from './neutral-stamp';
import { IdentifierDigest } from '../common/identifier-digest';

/** Who asked for an erasure: an admin over GraphQL, or Segment forwarding a deletion request. */
export interface ErasureRequester {
  via: 'graphql' | 'segment';
  identity: string | null;
}

/** What an erasure removed, in counts: the audit line and the mutation's answer. */
export interface ErasureReport {
  /** Anything was known about the customer (a Segment profile, or Twilio conversations). */
  found: boolean;
  cacheEntries: number;
  pendingChanges: number;
  tasksNeutralised: number;
  /** Open tasks of the customer whose stamp could not be replaced (TaskRouter failing); the audit line says so. */
  tasksFailed: number;
  suppressedIdentifiers: number;
  suppressedUntil: Date;
}

/** The open tasks scanned for the customer's: a workspace's tasks in play, far above a contact center's queue. */
const MAX_OPEN_TASKS = 5_000;
/** A task rewritten under us this often is given up (counted as failed). */
const MAX_STALE_WRITES = 5;

/**
 * Erasure that reaches every copy the service holds of a customer: cached Segment data on every
 * instance (bentocache's bus drops the other instances' L1 copies), webhook news not yet in the
 * Profile API, identifier resolutions, conversation lists and messages, cached tasks, and the
 * `customer_context` stamp of the customer's open tasks, replaced by a neutral one through the same
 * If-Match path as enrichment. Afterwards every identifier of the customer resolves to nobody for
 * ERASURE_SUPPRESSION_MS, since Segment and Twilio may still answer for a while.
 */
@Injectable()
export class ErasureService {
  private readonly logger = new Logger('Audit');
  private readonly warnings = new Logger(ErasureService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly contexts: CustomerContextService,
    private readonly pending: PendingChanges,
    private readonly kept: KeptRecords,
    private readonly tasks: TaskSource,
    private readonly router: RoutingService,
    private readonly bus: ChangeBus,
    private readonly ids: IdentifierDigest,
  ) {}

  async erase(lookup: LookupInput, requester: ErasureRequester): Promise<ErasureReport> {
    const options = { region: this.config.identity.defaultPhoneRegion, phoneIdType: this.config.segment.phoneIdType };
    const root = await this.contexts.resolve(lookup);
    const asked = normalizeLookup(lookup, options);
    const profileKey = root?.profileKey ?? null;

    const identifiers = new Map<string, { type: string; id: string }>();
    const remember = (type: string, id: string) => {
      identifiers.set(`${type}:${id}`, { type, id });
      if (type === 'email') identifiers.set(`${type}:${id.toLowerCase()}`, { type, id: id.toLowerCase() });
    };
    for (const candidate of asked.candidates) remember(candidate.type, candidate.id);
    for (const external of root?.externalIds ?? []) remember(external.type, external.id);
    const addresses = unique([...asked.addresses, ...(root?.addresses ?? [])]);

    // Conversations: as cached (Twilio keeps them; the service drops its copies).
    const conversationSids = new Set<string>(lookup.conversationSid ? [lookup.conversationSid] : []);
    for (const address of addresses) {
      const cached = await this.cache.peek<ConversationSummary[]>(cacheKeys.conversations(this.ids, address)).catch(() => undefined);
      for (const conversation of cached?.value ?? []) conversationSids.add(conversation.sid);
    }

    const { taskSids, failed: listFailed } = await this.openTasksOf(identifiers, addresses, conversationSids, lookup.taskSid ?? null);
    let tasksNeutralised = 0;
    let tasksFailed = listFailed ? 1 : 0;
    for (const taskSid of taskSids) {
      if (await this.neutralise(taskSid)) tasksNeutralised++;
      else tasksFailed++;
    }

    const keys = unique([
      ...(profileKey ? cacheKeys.profileKeys(profileKey) : []),
      ...[...identifiers.values()].map((e) => cacheKeys.resolution(this.ids, e.type, e.id)),
      ...addresses.map((a) => cacheKeys.conversations(this.ids, a)),
      ...[...conversationSids].flatMap((sid) => [cacheKeys.messages(sid), cacheKeys.conversationCustomer(sid)]),
      ...[...taskSids, ...(lookup.taskSid ? [lookup.taskSid] : [])].map((sid) => cacheKeys.task(sid)),
    ]);
    const lockEntries = await this.cache.erase(keys);
    const pendingChanges = profileKey ? await this.pending.forget(profileKey) : 0;
    // Conversational Intelligence results and wrap-up notes kept for the customer.
    const keptRecords = profileKey ? await this.kept.forget(profileKey) : 0;

    // Resolve to nobody for the suppression window: "no profile" for every identifier, "no
    // conversations" for every address (stored like any remembered miss, under hashed keys).
    const suppressionMs = this.config.erasure.suppressionMs;
    const suppressedUntil = new Date(Date.now() + suppressionMs);
    if (suppressionMs > 0) {
      await Promise.all([
        ...[...identifiers.values()].map((e) => this.cache.put(cacheKeys.resolution(this.ids, e.type, e.id), null, suppressionMs)),
        ...addresses.map((a) => this.cache.put(cacheKeys.conversations(this.ids, a), [], suppressionMs)),
      ]);
    }

    // Subscribers (on every instance) hear that the customer is gone; kept answers built on them go too.
    if (profileKey) await this.bus.publish({ profileId: profileKey, parts: ['erased'], source: 'erasure', at: new Date().toISOString() });

    const report: ErasureReport = {
      found: root !== null,
      cacheEntries: keys.length + lockEntries + keptRecords,
      pendingChanges,
      tasksNeutralised,
      tasksFailed,
      suppressedIdentifiers: suppressionMs > 0 ? identifiers.size + addresses.length : 0,
      suppressedUntil,
    };
    this.logger.log(
      {
        audit: 'customer.erased',
        who: requester,
        // Keyed digests: the line must not name the person it says was forgotten, and a plain hash
        // of a phone number would (hash every number).
        whose: { profile: profileKey ? this.ids.of(profileKey, 16) : null, identifiers: [...identifiers.keys()].map((id) => this.ids.of(id, 16)) },
        removed: { ...report, suppressedUntil: report.suppressedUntil.toISOString() },
      },
      'customer erased',
    );
    return report;
  }

  /** The open tasks whose attributes name the customer (by identifier, address, conversation or sid). */
  private async openTasksOf(
    identifiers: Map<string, unknown>,
    addresses: string[],
    conversationSids: Set<string>,
    taskSid: string | null,
  ): Promise<{ taskSids: string[]; failed: boolean }> {
    let open: TaskSnapshot[];
    try {
      open = await this.tasks.openTasks(MAX_OPEN_TASKS);
    } catch (error) {
      this.warnings.warn({ err: error }, 'erasure: the open tasks could not be listed; their stamps are left as they are');
      return { taskSids: taskSid ? [taskSid] : [], failed: true };
    }
    const options = { region: this.config.identity.defaultPhoneRegion, phoneIdType: this.config.segment.phoneIdType };
    const addressSet = new Set(addresses);
    const matches = open.filter((task) => {
      if (task.sid === taskSid) return true;
      const named = lookupFromTaskAttributes(task.attributes);
      if (named.conversationSid && conversationSids.has(named.conversationSid)) return true;
      const normalized = normalizeLookup(named, options);
      return normalized.candidates.some((c) => identifiers.has(`${c.type}:${c.id}`)) || normalized.addresses.some((a) => addressSet.has(a));
    });
    return { taskSids: matches.map((t) => t.sid), failed: false };
  }

  /** Replaces the task's stamp with the neutral one, with If-Match; on 412 reads again. True when written (or nothing to write). */
  private async neutralise(taskSid: string): Promise<boolean> {
    try {
      for (let attempt = 0; attempt < MAX_STALE_WRITES; attempt++) {
        const task = await this.tasks.task(taskSid);
        if (!task) return true; // gone: nothing left to neutralise
        const neutral = neutralTaskAttributes(task.attributes, this.router.namespace);
        if (!neutral) return true;
        if (!task.etag) return false;
        const update = await this.tasks.updateAttributes(taskSid, neutral, task.etag);
        if (update === null || update.ok) return true;
      }
      return false;
    } catch (error) {
      this.warnings.warn({ err: error, taskSid }, 'erasure: a task stamp could not be replaced');
      return false;
    }
  }
}
