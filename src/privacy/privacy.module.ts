import { Module } from '@nestjs/common';
import { ContextModule } from '../context/context.module';
import { RoutingModule } from '../routing/routing.module';
import { SecurityModule } from '../security/security.module';
import { TasksModule } from '../tasks/tasks.module';
import { ConsentResolver } from './consent.resolver';
import { ErasureResolver } from './erasure.resolver';
import { ErasureService } from './erasure.service';

/** Privacy: what a customer's consent hides, and erasing a customer from every copy. */
@Module({
  imports: [ContextModule, SecurityModule, TasksModule, RoutingModule],
  providers: [ConsentResolver, ErasureResolver, ErasureService],
  exports: [ErasureService],
})
export class PrivacyModule {}
