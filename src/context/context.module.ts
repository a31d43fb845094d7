import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { SecurityModule } from '../security/security.module';
import { TasksModule } from '../tasks/tasks.module';
import { ConversationResolver, CustomerContextResolver } from './customer-context.resolver';
import { CustomerContextService } from './customer-context.service';
import { MessageTextResolver, WrapUpNoteTextResolver } from './message-text.resolver';

/** The joined customer context, served over GraphQL (with the access policy's fields on messages and notes). */
@Module({
  imports: [ProfilesModule, ConversationsModule, TasksModule, SecurityModule],
  providers: [CustomerContextService, CustomerContextResolver, ConversationResolver, MessageTextResolver, WrapUpNoteTextResolver],
  exports: [CustomerContextService],
})
export class ContextModule {}
