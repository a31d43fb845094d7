import { Field, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: "One consent category (a categoryId of Segment's context.consent.categoryPreferences) and the customer's choice." })
export class ConsentCategory {
  @Field({ description: 'The category id, e.g. Advertising, Personalization.' })
  id!: string;

  @Field({ description: 'consented, declined or never_collected.' })
  status!: string;
}

@ObjectType({ description: "The customer's consent as their Segment events set it." })
export class CustomerConsent {
  @Field(() => [ConsentCategory], { description: 'The categories the consent rules name, then any other the customer sent.' })
  categories!: ConsentCategory[];

  @Field(() => Date, {
    nullable: true,
    description: 'When it was last set (the newest event carrying consent); null: never, as far as the last 14 days of events and recent webhooks tell.',
  })
  setAt!: Date | null;

  @Field({ description: "False when the customer's events could not be read: every category then reads never_collected (freshness says why)." })
  known!: boolean;
}

@ObjectType({ description: 'A part of the answer hidden or masked because the customer did not consent to its category.' })
export class WithheldField {
  @Field({ description: 'traits or events (event properties); routing refusals are in routing.explanations.' })
  part!: string;

  @Field({ description: 'The dotted path, e.g. preferred_store.' })
  path!: string;

  @Field({ description: 'The consent category that covers it, e.g. Personalization.' })
  consent!: string;

  @Field({ description: 'hidden or masked' })
  action!: string;
}
