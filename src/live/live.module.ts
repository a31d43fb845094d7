import { Global, Module } from '@nestjs/common';
import { ChangeBus } from './change-bus';
import { LiveResolver } from './live.resolver';
import { PendingChanges } from './pending-changes';

/** Live context: changes fanned out across instances, pushed to GraphQL subscribers. */
@Global()
@Module({ providers: [ChangeBus, PendingChanges, LiveResolver], exports: [ChangeBus, PendingChanges] })
export class LiveModule {}
