import { Controller, Get, OnModuleDestroy, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CacheService } from '../cache/cache.service';
import { RedisConnection } from '../cache/redis-connection';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import { Public } from '../common/public.decorator';
import { AppConfig } from '../config/config';

const REDIS_PING_TIMEOUT_MS = 300;

/** Liveness and readiness for the orchestrator. */
@Public()
@Controller()
export class HealthController implements OnModuleDestroy {
  private pingClient?: ReturnType<RedisConnection['create']>;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    private readonly cache: CacheService,
    private readonly upstreams: UpstreamMetrics,
  ) {}

  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 503 only while the instance is stopping (from the first shutdown hook: enrichment jobs are
   * draining and the cache is closing), so a load balancer sends it nothing new. Redis or an
   * upstream being down degrades answers on every instance alike, and taking them all out of
   * rotation would turn a partial answer into none: that is reported (`degraded`), not failed on.
   */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<Record<string, unknown>> {
    void reply.header('cache-control', 'no-store');
    // The sandbox serves demo data: an operator who meant to go live must see it here.
    const mode = this.config.sandbox ? 'sandbox' : 'live';
    if (this.stopping) {
      void reply.status(503);
      return { status: 'stopping', mode };
    }
    const redis = await this.redisState();
    const upstreams = this.upstreams.snapshot().map((u) => ({
      source: u.source,
      status: u.consecutiveFailures >= 3 ? 'failing' : 'ok',
      lastError: u.lastError,
      lastOkAt: u.lastOkAt ? new Date(u.lastOkAt).toISOString() : null,
    }));
    const degraded = redis.status === 'down' || upstreams.some((u) => u.status === 'failing');
    return { status: degraded ? 'degraded' : 'ok', mode, cache: this.cache.mode, redis, upstreams };
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  private async redisState(): Promise<{ status: 'ok' | 'down' | 'embedded'; latencyMs?: number; error?: string }> {
    if (!this.redis.enabled) return { status: 'embedded' };
    this.pingClient ??= this.redis.create('health');
    const started = performance.now();
    try {
      // A connection made on the first probe answers once it is open (or has failed to open).
      const client = this.pingClient;
      const ping = this.redis.firstAnswer(client).then(() => client.ping());
      ping.catch(() => undefined); // may settle after the race is lost
      await Promise.race([
        ping,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${REDIS_PING_TIMEOUT_MS} ms`)), REDIS_PING_TIMEOUT_MS).unref()),
      ]);
      return { status: 'ok', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      return { status: 'down', error: (error as Error).message };
    }
  }
}
