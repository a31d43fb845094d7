import { Global, Module } from '@nestjs/common';
import { RoutingReads } from '../context/routing-reads';
import { RoutingService } from './routing.service';

/**
 * Routing rules that turn customer context into task attributes. Global, so that the context asks
 * its `RoutingReads` port (what the rules read) without importing routing/, which builds on it.
 */
@Global()
@Module({ providers: [RoutingService, { provide: RoutingReads, useExisting: RoutingService }], exports: [RoutingService, RoutingReads] })
export class RoutingModule {}
