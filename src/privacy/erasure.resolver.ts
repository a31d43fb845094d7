import { Args, Context, Mutation, Resolver } from '@nestjs/graphql';
import { principalOf, type CallerContext } from '../auth/principal';
import { DomainError, ErrorCode } from '../common/errors';
import { CustomerLookupInput } from '../context/dto/customer-lookup.input';
import { ErasureResult } from './erasure.model';
import { ErasureService } from './erasure.service';

/** The role that may erase a customer: Flex's own administrator role. */
export const ERASURE_ROLE = 'admin';

@Resolver()
export class ErasureResolver {
  constructor(private readonly erasure: ErasureService) {}

  @Mutation(() => ErasureResult, {
    description:
      'Removes everything the service holds about a customer, on every instance, replaces the stamp of their open tasks with { erased: true }, and makes their identifiers resolve to nobody for ERASURE_SUPPRESSION_MS. Admin role only.',
  })
  async eraseCustomer(@Args('lookup') lookup: CustomerLookupInput, @Context() context: CallerContext): Promise<ErasureResult> {
    const principal = principalOf(context);
    if (!principal?.roles.includes(ERASURE_ROLE)) throw new DomainError(ErrorCode.FORBIDDEN, `eraseCustomer needs the ${ERASURE_ROLE} role`);
    return this.erasure.erase(lookup, { via: 'graphql', identity: principal.identity });
  }
}
