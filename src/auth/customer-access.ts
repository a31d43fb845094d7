import type { LookupInput } from '../identity/identity';
import type { Principal } from './principal';

/** What a root field asks about: a customer (lookup or profile id), or a task. */
export interface AccessTarget {
  lookup?: LookupInput;
  taskSid?: string;
  profileId?: string;
}

/**
 * Port: may this caller read this customer? Throws FORBIDDEN when not (or UPSTREAM_UNAVAILABLE
 * when that cannot be known: closed, never open). The request pipeline asks at each root field that
 * names a customer, subscriptions at start and before each push. ACCESS_STRICT implements it
 * (context/strict-access.ts, provided by `StrictAccessModule`), resolving lookups through the
 * customer context; depending on this port instead keeps those consumers out of that graph.
 */
export abstract class CustomerAccess {
  abstract check(principal: Principal | null, target: AccessTarget): Promise<void>;
}
