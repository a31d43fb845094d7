import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'A task the workers gave up stamping after ENRICHMENT_MAX_ATTEMPTS.' })
export class EnrichmentDeadLetter {
  @Field(() => ID, { description: 'The job id.' })
  id!: string;

  @Field()
  taskSid!: string;

  @Field(() => String, { nullable: true, description: 'The TaskRouter event that enqueued it.' })
  eventSid!: string | null;

  @Field(() => Int)
  attempts!: number;

  @Field({ description: 'Why the last attempt failed.' })
  error!: string;

  @Field(() => Date)
  failedAt!: Date;
}

@ObjectType()
export class EnrichmentDeadLetters {
  @Field(() => Int, { description: 'All dead letters kept, not only those listed.' })
  totalCount!: number;

  @Field({ description: 'False without Redis: the queue and its dead letters live in this process only.' })
  durable!: boolean;

  @Field(() => [EnrichmentDeadLetter], { description: 'Newest first.' })
  items!: EnrichmentDeadLetter[];
}
