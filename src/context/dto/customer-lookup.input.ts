import { Field, InputType } from '@nestjs/graphql';

@InputType({ description: 'Give one or more; the first that resolves wins, in field order.' })
export class CustomerLookupInput {
  @Field(() => String, { nullable: true })
  userId?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  phone?: string | null;

  @Field(() => String, { nullable: true })
  anonymousId?: string | null;

  @Field(() => String, { nullable: true, description: 'A channel address: "+15551234567", "whatsapp:+1555...", "messenger:123", an email.' })
  address?: string | null;

  @Field(() => String, { nullable: true })
  conversationSid?: string | null;

  @Field(() => String, { nullable: true })
  taskSid?: string | null;
}
