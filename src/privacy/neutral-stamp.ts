import { INSIGHTS_KEYS } from '../routing/rules';

/** The stamp an erased customer's open task carries instead of ours: routable, and about nobody. */
export const ERASED_STAMP = Object.freeze({ erased: true });

/**
 * The task's attributes with our namespace replaced by the neutral stamp and the Flex Insights
 * customer fields (`customers.name`, `email`, `phone`, `customer_label_*`) removed; every other
 * attribute kept as it was (TaskRouter's and Flex's own, such as the channel address). Null when
 * the task already carries exactly that.
 */
export function neutralTaskAttributes(attributes: Readonly<Record<string, unknown>>, namespace: string): Record<string, unknown> | null {
  const next: Record<string, unknown> = { ...attributes, [namespace]: { ...ERASED_STAMP } };
  const customers = attributes.customers;
  let changedCustomers = false;
  if (customers && typeof customers === 'object' && !Array.isArray(customers)) {
    const kept = Object.fromEntries(Object.entries(customers).filter(([key]) => !(INSIGHTS_KEYS as readonly string[]).includes(key)));
    changedCustomers = Object.keys(kept).length !== Object.keys(customers).length;
    if (Object.keys(kept).length === 0) delete next.customers;
    else next.customers = kept;
  }
  const current = attributes[namespace];
  const alreadyNeutral = !changedCustomers && JSON.stringify(current) === JSON.stringify(ERASED_STAMP);
  return alreadyNeutral ? null : next;
}
