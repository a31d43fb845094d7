import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { RoutingModule } from '../routing/routing.module';
import { TasksModule } from '../tasks/tasks.module';
import { ConversationResolver, CustomerContextResolver } from './customer-context.resolver';
import { CustomerContextService } from './customer-context.service';

/** The joined customer context, served over GraphQL. */
@Module({
  imports: [ProfilesModule, ConversationsModule, TasksModule, RoutingModule],
  providers: [CustomerContextService, CustomerContextResolver, ConversationResolver],
  exports: [CustomerContextService],
})
export class ContextModule {}
