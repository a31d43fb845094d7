import { createHash } from 'node:crypto';
import type { Principal } from '../auth/principal';
import type { CacheService } from '../cache/cache.service';
import { DomainError, ErrorCode } from '../common/errors';
import type { AppConfig } from '../config/config';
import { CustomerRoot, type CustomerContextService } from './customer-context.service';
import type { LookupInput } from '../identity/identity';
import { StrictAccess } from './strict-access';
import { WorkerTasks } from '../security/worker-tasks';
import { IdentifierDigest } from '../common/identifier-digest';

const who = (roles: string[], workerSid: string | null = 'WK1'): Principal => ({ identity: 'jane', roles, workerSid, expiresAt: Date.now() + 60_000 });
const root = (profileKey: string | null, addresses: string[]) => new CustomerRoot(profileKey, null, [], addresses, null);

/** Customers as the context service would resolve them: by task sid, user id or phone. */
const people: Record<string, CustomerRoot> = {
  'task:WT1': root('use_ada', ['+12015550100']),
  'task:WT2': root(null, ['whatsapp:+34600000000']),
  /** Another worker's task, of bob's. */
  'task:WT8': root('use_bob', ['+12015550199']),
  'userId:ada': root('use_ada', ['+12015550100']),
  'userId:bob': root('use_bob', ['+12015550199']),
  'phone:+34600000000': root(null, ['whatsapp:+34600000000']),
};

class Reservations extends WorkerTasks {
  calls = 0;
  constructor(private readonly byWorker: Record<string, string[]>) {
    super();
  }
  async activeTaskSids(workerSid: string): Promise<string[]> {
    this.calls++;
    return this.byWorker[workerSid] ?? [];
  }
}

const DIGEST = new IdentifierDigest({ identity: { hashSecret: 'strict-test-secret-0123456789abcdef' }, twilio: {} } as unknown as AppConfig);

function setup(strict = true, reservations = new Reservations({ WK1: ['WT1', 'WT2'] })) {
  const stored = new Map<string, unknown>();
  const cache = {
    async getOrSet(key: string, _policy: unknown, factory: () => Promise<unknown>) {
      if (!stored.has(key)) stored.set(key, await factory());
      return { value: stored.get(key), fetchedAt: 0, stale: false, error: null };
    },
  } as unknown as CacheService;
  const contexts = {
    async resolve(lookup: LookupInput) {
      const [key, value] = Object.entries(lookup).find(([, v]) => v) ?? [];
      return people[key === 'taskSid' ? `task:${value}` : `${key}:${value}`] ?? null;
    },
  } as unknown as CustomerContextService;
  const access = new StrictAccess({ access: { strict } } as AppConfig, cache, contexts, reservations, DIGEST);
  return { access, reservations, stored };
}

const refused = expect.objectContaining({ code: ErrorCode.FORBIDDEN });

describe(StrictAccess.name, () => {
  it('lets an agent read the customers of their own tasks, by task, profile or address', async () => {
    const { access } = setup();
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT1' } })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { lookup: { userId: 'ada' } })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { lookup: { phone: '+34600000000' } })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { taskSid: 'WT2' })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { profileId: 'use_ada' })).resolves.toBeUndefined();
  });

  it('refuses an agent any other customer or task', async () => {
    const { access } = setup();
    await expect(access.check(who(['agent']), { lookup: { userId: 'bob' } })).rejects.toEqual(refused);
    await expect(access.check(who(['agent']), { taskSid: 'WT9' })).rejects.toEqual(refused);
    await expect(access.check(who(['agent']), { profileId: 'use_bob' })).rejects.toEqual(refused);
    await expect(access.check(who(['agent'], null), { lookup: { userId: 'ada' } })).rejects.toEqual(refused);
    await expect(access.check(null, { lookup: { userId: 'ada' } })).rejects.toEqual(refused);
  });

  it('refuses a task of theirs that carries a lookup of someone else, and the reverse', async () => {
    const { access } = setup();
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT1', userId: 'bob' } })).rejects.toEqual(refused);
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT8', userId: 'ada' } })).rejects.toEqual(refused);
    // A task TaskRouter does not know adds nobody.
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT9', userId: 'ada' } })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT1', userId: 'ada' } })).resolves.toBeUndefined();
    await expect(access.check(who(['agent']), { lookup: { taskSid: 'WT1', userId: 'nobody' } })).resolves.toBeUndefined();
  });

  it('answers an unknown customer (null) rather than refusing it', async () => {
    await expect(setup().access.check(who(['agent']), { lookup: { userId: 'nobody' } })).resolves.toBeUndefined();
  });

  it('exempts supervisors and admins, and does nothing when off', async () => {
    const { access, reservations } = setup();
    await access.check(who(['supervisor'], null), { lookup: { userId: 'bob' } });
    await access.check(who(['agent', 'admin']), { lookup: { userId: 'bob' } });
    await setup(false).access.check(who(['agent']), { lookup: { userId: 'bob' } });
    expect(reservations.calls).toBe(0);
  });

  it("keeps a worker's customers briefly, as digests, and reads their tasks once", async () => {
    const { access, reservations, stored } = setup();
    await access.check(who(['agent']), { lookup: { userId: 'ada' } });
    await access.check(who(['agent']), { lookup: { phone: '+34600000000' } });
    expect(reservations.calls).toBe(1);
    expect(JSON.stringify([...stored.values()])).not.toContain('+1201');
    // Keyed: a plain SHA-256 of a phone is found again by hashing every phone number.
    const [entry] = [...stored.values()] as Array<{ addresses: string[] }>;
    expect(entry.addresses).toContain(DIGEST.of('+12015550100'));
    expect(entry.addresses).not.toContain(createHash('sha256').update('+12015550100').digest('base64url').slice(0, 22));
  });

  it('refuses, not allows, when the tasks cannot be read', async () => {
    const failing = new (class extends WorkerTasks {
      activeTaskSids(): Promise<string[]> {
        return Promise.reject(new Error('TaskRouter down'));
      }
    })();
    const { access } = setup(true, failing as never);
    const error = await access.check(who(['agent']), { lookup: { userId: 'ada' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
  });
});
