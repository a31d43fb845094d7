import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { principalOf, type CallerContext } from '../auth/principal';
import { CustomerContext } from '../context/customer-context.model';
import { CustomerContextService, type CustomerRoot } from '../context/customer-context.service';
import { AccessPolicy } from '../security/access-policy';
import { uniqueWithheld, type Withheld } from '../consent/consent';
import { ConsentCategory, CustomerConsent, WithheldField } from './consent.model';
import { ConsentService } from '../consent/consent.service';

/** `CustomerContext.consent` and `CustomerContext.withheld`: the customer's consent, and what it hides. */
@Resolver(() => CustomerContext)
export class ConsentResolver {
  constructor(
    private readonly contexts: CustomerContextService,
    private readonly consent: ConsentService,
    private readonly policy: AccessPolicy,
  ) {}

  @ResolveField('consent', () => CustomerConsent, {
    nullable: true,
    description: "The customer's consent per category; null for roles the access policy's consent.visibleTo leaves out.",
  })
  async consentState(@Parent() root: CustomerRoot, @Context() context: CallerContext): Promise<CustomerConsent | null> {
    if (!this.policy.unrestricted && !this.consent.rules.visibleTo(principalOf(context)?.roles ?? [])) return null;
    const state = await this.consent.state(
      root,
      () => this.contexts.events(root),
      () => this.contexts.insights(root),
    );
    const ids = [...new Set([...this.consent.rules.categories, ...Object.keys(state.known ? state.categories : {})])];
    const categories: ConsentCategory[] = ids.map((id) => ({ id, status: this.consent.rules.status(state, id) }));
    return { categories, setAt: state.setAt ? new Date(state.setAt) : null, known: state.known };
  }

  @ResolveField(() => [WithheldField], {
    description: 'What the answer leaves out or masks because the customer did not consent, and which consent covers it.',
  })
  async withheld(@Parent() root: CustomerRoot): Promise<WithheldField[]> {
    if (!this.consent.rules.active) return [];
    const view = await this.consent.view(
      root,
      () => this.contexts.events(root),
      () => this.contexts.insights(root),
    );
    if (!view.restricts) return [];
    // Accounts only when the answer reads them anyway (selected, or named by the routing rules).
    const [traits, events, accounts] = await Promise.all([
      this.contexts.traits(root),
      this.contexts.events(root),
      this.contexts.accountsRead(root) ? this.contexts.accounts(root) : [],
    ]);
    const withheld: Withheld[] = [];
    view.filter('traits', traits, withheld);
    for (const account of accounts) view.accountTraits(account.traits, withheld);
    for (const event of events) if (event.properties) view.filter('events', event.properties, withheld);
    return uniqueWithheld(withheld);
  }
}
