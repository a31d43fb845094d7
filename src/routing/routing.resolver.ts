import { Args, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { DomainError, ErrorCode } from '../common/errors';
import { CustomerContext } from '../context/customer-context.model';
import type { CustomerRoot } from '../context/customer-context.service';
import { CustomerLookupInput } from '../context/dto/customer-lookup.input';
import { CustomerRouting } from './customer-routing.service';
import { RoutingDecision } from './routing-decision.model';

@Resolver()
export class RoutingResolver {
  constructor(private readonly routing: CustomerRouting) {}

  @Query(() => RoutingDecision, {
    description:
      'A dry run of the routing rules for a customer, with every rule explained; nothing is written. taskAttributes default to those of lookup.taskSid, if given.',
  })
  routingPreview(
    @Args('lookup') lookup: CustomerLookupInput,
    @Args('taskAttributes', { type: () => GraphQLJSON, nullable: true }) taskAttributes?: unknown,
  ): Promise<RoutingDecision> {
    if (taskAttributes !== undefined && taskAttributes !== null && (typeof taskAttributes !== 'object' || Array.isArray(taskAttributes))) {
      throw new DomainError(ErrorCode.BAD_REQUEST, 'taskAttributes must be a JSON object');
    }
    return this.routing.preview(lookup, (taskAttributes as Record<string, unknown> | null | undefined) ?? null);
  }
}

/** `CustomerContext.routing`, served here: the context builds on nothing of routing/ but the `RoutingReads` port. */
@Resolver(() => CustomerContext)
export class CustomerContextRoutingResolver {
  constructor(private readonly router: CustomerRouting) {}

  @ResolveField(() => RoutingDecision)
  routing(@Parent() root: CustomerRoot): Promise<RoutingDecision> {
    // Decided on less than usual when a source failed: the decision says so, as a stamped task's does.
    return this.router.decideFor(root);
  }
}
