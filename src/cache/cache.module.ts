import { Global, Module } from '@nestjs/common';
import { CacheService } from './cache.service';
import { RedisConnection } from './redis-connection';

/** Two-tier cache of upstream resources, and the Redis connections behind it. */
@Global()
@Module({ providers: [RedisConnection, CacheService], exports: [RedisConnection, CacheService] })
export class CacheModule {}
