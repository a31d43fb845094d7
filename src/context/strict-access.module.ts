import { Global, Module } from '@nestjs/common';
import { CustomerAccess } from '../auth/customer-access';
import { ContextModule } from './context.module';
import { StrictAccess } from './strict-access';
import { TwilioWorkerTasks, WorkerTasks } from '../security/worker-tasks';

/**
 * ACCESS_STRICT behind the `CustomerAccess` port (auth/customer-access.ts). It resolves lookups
 * through the customer context, so it is the one module of the access layer that builds on
 * `ContextModule`; global, so the request pipeline and subscriptions ask the port without
 * importing the context (which builds on them).
 */
@Global()
@Module({
  imports: [ContextModule],
  providers: [{ provide: WorkerTasks, useClass: TwilioWorkerTasks }, StrictAccess, { provide: CustomerAccess, useExisting: StrictAccess }],
  exports: [CustomerAccess],
})
export class StrictAccessModule {}
