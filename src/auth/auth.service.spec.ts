import { DomainError, ErrorCode, UpstreamError } from '../common/errors';
import type { CacheService } from '../cache/cache.service';
import type { AppConfig } from '../config/config';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { FlexTokenValidator } from './token-validator';

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const agent = (expiresAt = Date.now() + 3_600_000): Principal => ({ identity: 'jane', roles: ['agent'], workerSid: 'WK1', expiresAt });

/** A cache that remembers values and the TTL each was stored with, and never stores a failure. */
class MemoryCache {
  readonly stored = new Map<string, { value: unknown; ttlMs: number }>();
  reads = 0;
  private readonly listeners = new Set<(keys: string[]) => void>();
  onKeysChanged(listener: (keys: string[]) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** As the cache does for a key deleted here or, through its bus, on another instance. */
  delete(key: string) {
    this.stored.delete(key);
    this.listeners.forEach((listener) => listener([key]));
  }
  async getOrSet<T>(key: string, policy: { ttlMs: number }, factory: () => Promise<T>, options: { policyFor?: (v: T) => { ttlMs: number } } = {}) {
    this.reads++;
    const hit = this.stored.get(key);
    if (hit) return { value: hit.value as T, fetchedAt: 0, stale: false, error: null };
    const value = await factory();
    this.stored.set(key, { value, ttlMs: (options.policyFor?.(value) ?? policy).ttlMs });
    return { value, fetchedAt: Date.now(), stale: false, error: null };
  }
}

class FakeValidator extends FlexTokenValidator {
  calls = 0;
  constructor(private readonly answer: () => Promise<Principal | null>) {
    super();
  }
  validate(): Promise<Principal | null> {
    this.calls++;
    return this.answer();
  }
}

function setup(answer: () => Promise<Principal | null>) {
  const cache = new MemoryCache();
  const validator = new FakeValidator(answer);
  const service = new AuthService({ auth: { mode: 'flex' } } as AppConfig, cache as unknown as CacheService, validator);
  return { cache, validator, service };
}

describe(AuthService.name, () => {
  it('asks Twilio once per token and keeps the answer until the token expires, under a digest', async () => {
    const expiresAt = Date.now() + 600_000;
    const { cache, validator, service } = setup(async () => agent(expiresAt));
    const token = jwt({ sub: 'jane' });
    expect(await service.authenticate(token)).toEqual(agent(expiresAt));
    expect(await service.authenticate(token)).toEqual(agent(expiresAt));
    expect(validator.calls).toBe(1);
    const [[key, entry]] = [...cache.stored.entries()];
    expect(key).not.toContain(token);
    expect(key).toMatch(/^auth:[A-Za-z0-9_-]{43}$/);
    expect(entry.ttlMs).toBeGreaterThan(590_000);
    expect(entry.ttlMs).toBeLessThanOrEqual(600_000);
  });

  it('keeps a known token in hand, and asks the cache again once the cache says its key changed', async () => {
    let answer: Principal | null = agent();
    const { cache, validator, service } = setup(async () => answer);
    const token = jwt({ sub: 'jane' });
    await service.authenticate(token);
    await service.authenticate(token);
    const readsBefore = cache.reads;
    await service.authenticate(token);
    await service.authenticate(token);
    expect(cache.reads).toBe(readsBefore);
    // Revoked: IAM now refuses it, and its validation is deleted (here or on another instance).
    answer = null;
    cache.delete([...cache.stored.keys()][0]);
    await expect(service.authenticate(token)).rejects.toMatchObject({ code: ErrorCode.UNAUTHENTICATED });
    expect(validator.calls).toBe(2);
  });

  it('does not take in hand an answer read while a token key changed', async () => {
    let answer: (principal: Principal) => void = () => undefined;
    const { cache, service } = setup(() => new Promise<Principal>((resolve) => (answer = resolve)));
    const token = jwt({ sub: 'jane' });
    const first = service.authenticate(token);
    await new Promise(setImmediate); // the read has begun
    // Meanwhile a token validation is deleted (here or, through the bus, on another instance).
    cache.delete('auth:another-token');
    answer(agent());
    await first;
    const reads = cache.reads;
    await service.authenticate(token);
    // Asked the cache again: what was read before the change was not kept in hand.
    expect(cache.reads).toBe(reads + 1);
    await service.authenticate(token);
    expect(cache.reads).toBe(reads + 1);
  });

  it('refuses a token Twilio calls invalid, and remembers nothing', async () => {
    const { cache, service } = setup(async () => null);
    await expect(service.authenticate(jwt({}))).rejects.toMatchObject({ code: ErrorCode.UNAUTHENTICATED });
    expect(cache.stored.size).toBe(0);
  });

  it('refuses a token Twilio says expires now', async () => {
    const { service } = setup(async () => agent(Date.now() - 1));
    await expect(service.authenticate(jwt({}))).rejects.toMatchObject({ code: ErrorCode.UNAUTHENTICATED, message: expect.stringMatching(/expired/) });
  });

  it('passes an IAM outage on as such, not as a bad token', async () => {
    const { service } = setup(async () => {
      throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, 'twilio failed (503)');
    });
    await expect(service.authenticate(jwt({}))).rejects.toMatchObject({ code: ErrorCode.UPSTREAM_UNAVAILABLE });
  });

  it('authenticates a request once however many root fields ask, and says how to authenticate', async () => {
    const { validator, service } = setup(async () => agent());
    const request = { headers: { authorization: `Bearer ${jwt({})}` } } as never;
    await Promise.all([service.authenticateRequest(request), service.authenticateRequest(request)]);
    expect(validator.calls).toBe(1);
    expect((request as { principal?: Principal }).principal?.identity).toBe('jane');

    const header = jest.fn();
    await expect(service.authenticateRequest({ headers: {} } as never, { header } as never)).rejects.toBeInstanceOf(DomainError);
    expect(header).toHaveBeenCalledWith('WWW-Authenticate', expect.stringMatching(/^Bearer/));
    expect(validator.calls).toBe(1);
  });
});
