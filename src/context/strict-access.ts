import { Injectable } from '@nestjs/common';
import { CustomerAccess, type AccessTarget } from '../auth/customer-access';
import type { Principal } from '../auth/principal';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { CustomerContextService } from './customer-context.service';
import type { LookupInput } from '../identity/identity';
import { IdentifierDigest } from '../common/identifier-digest';
import { WorkerTasks } from '../security/worker-tasks';

interface WorkerCustomers {
  taskSids: string[];
  profileIds: string[];
  /** Digests of the customers' channel addresses: this entry lives in Redis. */
  addresses: string[];
}

/** Supervisors and admins watch every queue; only agents are held to their own tasks. */
const EXEMPT_ROLES = new Set(['supervisor', 'admin']);

const forbidden = () => new DomainError(ErrorCode.FORBIDDEN, 'ACCESS_STRICT: this customer is not on one of your tasks');

/**
 * ACCESS_STRICT: an agent reads only the customers of tasks reserved by or assigned to their
 * worker. A customer matches by profile id or by a channel address the task carries.
 */
@Injectable()
export class StrictAccess extends CustomerAccess {
  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly contexts: CustomerContextService,
    private readonly workerTasks: WorkerTasks,
    private readonly ids: IdentifierDigest,
  ) {
    super();
  }

  /** Throws FORBIDDEN when strict mode is on and the caller may not read the target. */
  async check(principal: Principal | null, target: AccessTarget): Promise<void> {
    if (!this.config.access.strict) return;
    if (principal?.roles.some((role) => EXEMPT_ROLES.has(role))) return;
    if (!principal?.workerSid) throw forbidden();
    const mine = await this.customersOf(principal.workerSid);
    if (target.profileId && mine.profileIds.includes(target.profileId)) return;
    // A task named for itself (enrichTask, routingPreview): theirs, or nothing.
    if (target.taskSid) {
      if (mine.taskSids.includes(target.taskSid)) return;
      throw forbidden();
    }
    const taskSid = target.lookup?.taskSid;
    const { taskSid: _task, ...own } = target.lookup ?? {};
    const namesMore = Object.values(own).some((value) => value !== undefined && value !== null && value !== '');
    if (!taskSid && !namesMore) throw forbidden();
    // A lookup is resolved from its own identifiers first, with gaps filled from the task: each
    // must be this agent's, or the task would carry a lookup of someone else (and the reverse).
    if (taskSid && !mine.taskSids.includes(taskSid)) await this.mustBeMine(mine, { taskSid });
    if (namesMore) await this.mustBeMine(mine, own);
  }

  /** FORBIDDEN unless the lookup names nobody known, or a customer of the agent's tasks. */
  private async mustBeMine(mine: WorkerCustomers, lookup: LookupInput): Promise<void> {
    const customer = await this.contexts.resolve(lookup);
    // Nobody known by that lookup: the answer is null, nothing to protect.
    if (!customer) return;
    if (customer.profileKey && mine.profileIds.includes(customer.profileKey)) return;
    if (customer.addresses.some((address) => mine.addresses.includes(this.ids.of(address)))) return;
    throw forbidden();
  }

  private async customersOf(workerSid: string): Promise<WorkerCustomers> {
    try {
      return await this.loadCustomersOf(workerSid);
    } catch {
      // Closed, not open: without the task list nobody can be let through.
      throw new DomainError(ErrorCode.UPSTREAM_UNAVAILABLE, 'ACCESS_STRICT: your tasks cannot be read from TaskRouter right now');
    }
  }

  private async loadCustomersOf(workerSid: string): Promise<WorkerCustomers> {
    const cached = await this.cache.getOrSet(cacheKeys.workerCustomers(workerSid), { ttlMs: this.config.access.strictCacheMs, graceMs: 0 }, async () => {
      const taskSids = await this.workerTasks.activeTaskSids(workerSid);
      const customers = await Promise.all(taskSids.map((taskSid) => this.contexts.resolve({ taskSid })));
      return {
        taskSids,
        profileIds: customers.flatMap((c) => (c?.profileKey ? [c.profileKey] : [])),
        addresses: customers.flatMap((c) => c?.addresses.map((address) => this.ids.of(address)) ?? []),
      };
    });
    return cached.value;
  }
}
