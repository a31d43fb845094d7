import { Field, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'What eraseCustomer removed, in counts (nothing about the customer themselves).' })
export class ErasureResult {
  @Field({ description: 'Anything was known about the customer (a Segment profile or Twilio conversations).' })
  found!: boolean;

  @Field(() => Int, { description: 'Cache entries dropped on every instance (Segment data, resolutions, conversations, messages, tasks).' })
  cacheEntries!: number;

  @Field(() => Int, { description: 'Webhook news not yet in the Profile API, dropped.' })
  pendingChanges!: number;

  @Field(() => Int, { description: 'Open tasks whose customer_context stamp now reads { erased: true }.' })
  tasksNeutralised!: number;

  @Field(() => Int, { description: 'Open tasks left as they were because TaskRouter failed; erase again to retry.' })
  tasksFailed!: number;

  @Field(() => Int, { description: 'Identifiers and addresses that resolve to nobody until suppressedUntil.' })
  suppressedIdentifiers!: number;

  @Field(() => Date)
  suppressedUntil!: Date;
}
