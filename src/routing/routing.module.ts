import { Module } from '@nestjs/common';
import { RoutingService } from './routing.service';

/** Routing rules that turn customer context into task attributes. */
@Module({ providers: [RoutingService], exports: [RoutingService] })
export class RoutingModule {}
