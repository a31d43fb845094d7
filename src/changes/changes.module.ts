import { Global, Module } from '@nestjs/common';
import { ChangeBus } from './change-bus';
import { KeptRecords } from './kept-records';
import { PendingChanges } from './pending-changes';

/**
 * What webhooks tell about customers, below the context that reads it: changes fanned out across
 * instances (ChangeBus), news the Profile API may not show yet (PendingChanges), and records no
 * upstream keeps (KeptRecords).
 */
@Global()
@Module({ providers: [ChangeBus, PendingChanges, KeptRecords], exports: [ChangeBus, PendingChanges, KeptRecords] })
export class ChangesModule {}
