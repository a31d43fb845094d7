import { Global, Module } from '@nestjs/common';
import { CacheService } from './cache.service';
import { RedisConnection } from './redis-connection';
import { IdentifierDigest } from '../common/identifier-digest';

/** Two-tier cache of upstream resources, and the Redis connections behind it. */
@Global()
@Module({ providers: [RedisConnection, CacheService, IdentifierDigest], exports: [RedisConnection, CacheService, IdentifierDigest] })
export class CacheModule {}
