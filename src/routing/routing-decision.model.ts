import { Field, ObjectType } from '@nestjs/graphql';
import { GraphQLJSON } from 'graphql-scalars';

@ObjectType('RuleExplanation', { description: 'Whether one rule matched, and why.' })
export class RuleExplanationModel {
  @Field({ description: 'The rule name; "(insights)" for the Flex Insights mapping.' })
  rule!: string;

  @Field()
  matched!: boolean;

  @Field({ description: 'e.g. "when is true", "when is false", "no when: always matches".' })
  reason!: string;

  @Field(() => String, { nullable: true, description: 'An expression that failed (the rule did not match, or kept the earlier value).' })
  error?: string;
}

@ObjectType({ description: 'What the routing rules give: attributes for the task and the rules that matched.' })
export class RoutingDecision {
  @Field(() => GraphQLJSON, { description: 'Attributes under the namespace key, plus customers.* when configured.' })
  attributes!: Record<string, unknown>;

  @Field(() => [String])
  matchedRules!: string[];

  @Field(() => [RuleExplanationModel], { description: 'Every rule in file order, matched or not, with the reason.' })
  explanations!: RuleExplanationModel[];

  @Field({ description: 'Decided without all of the customer data: a source failed or the deadline passed. The attributes say so too.' })
  degraded!: boolean;

  @Field(() => String, { nullable: true })
  degradedReason!: string | null;

  @Field({ description: 'True when this call wrote the attributes onto the task (enrichTask); false for previews and for a task already stamped.' })
  stamped!: boolean;
}
