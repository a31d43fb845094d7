import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { principalOf, type CallerContext } from '../auth/principal';
import { Message } from '../context/customer-context.model';
import { AccessPolicy } from './access-policy';

/**
 * Says when a message's text is withheld by the access policy, so that a client can tell "you may
 * not read this" from a message without text (media, a template) — both read `body: null`.
 */
@Resolver(() => Message)
export class MessageTextResolver {
  constructor(private readonly policy: AccessPolicy) {}

  @ResolveField(() => Boolean, { description: "The message has text that the caller's role may not read; body is then null." })
  bodyWithheld(@Parent() message: Message, @Context() context: CallerContext): boolean {
    if (message.body === null || message.body === undefined || this.policy.unrestricted) return false;
    return this.policy.viewFor(principalOf(context)).conversationText('messages.body', message.body) === null;
  }
}
