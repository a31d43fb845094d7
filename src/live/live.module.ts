import { Global, Module } from '@nestjs/common';
import { ChangeBus } from './change-bus';
import { LiveResolver } from './live.resolver';
import { KeptRecords } from './kept-records';
import { PendingChanges } from './pending-changes';

/** Live context: changes fanned out across instances, pushed to GraphQL subscribers. */
@Global()
@Module({ providers: [ChangeBus, PendingChanges, KeptRecords, LiveResolver], exports: [ChangeBus, PendingChanges, KeptRecords] })
export class LiveModule {}
