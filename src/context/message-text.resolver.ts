import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { principalOf, type CallerContext } from '../auth/principal';
import { Message, WrapUpNote } from './customer-context.model';
import { AccessPolicy } from '../security/access-policy';

/** True when there is conversation text and the caller's role may not read it (it then reads null). */
function withheld(policy: AccessPolicy, text: string | null | undefined, context: CallerContext): boolean {
  if (text === null || text === undefined || policy.unrestricted) return false;
  return policy.viewFor(principalOf(context)).conversationText('messages.body', text) === null;
}

/**
 * Says when a message's text is withheld by the access policy, so that a client can tell "you may
 * not read this" from a message without text (media, a template) — both read `body: null`.
 */
@Resolver(() => Message)
export class MessageTextResolver {
  constructor(private readonly policy: AccessPolicy) {}

  @ResolveField(() => Boolean, { description: "The message has text that the caller's role may not read; body is then null." })
  bodyWithheld(@Parent() message: Message, @Context() context: CallerContext): boolean {
    return withheld(this.policy, message.body, context);
  }
}

/** The same for a wrap-up note's summary, which retells what was said and is read like a message body. */
@Resolver(() => WrapUpNote)
export class WrapUpNoteTextResolver {
  constructor(private readonly policy: AccessPolicy) {}

  @ResolveField(() => Boolean, { description: "The note has a summary that the caller's role may not read; summary is then null." })
  summaryWithheld(@Parent() note: WrapUpNote, @Context() context: CallerContext): boolean {
    return withheld(this.policy, note.summary, context);
  }
}
