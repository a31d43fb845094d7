/**
 * What the routing rules read of a customer, as far as the answer's prefetch and a refresh must
 * know it. `CustomerContext.routing` is served by routing/, which builds on the context; the
 * context asks this port instead (RoutingModule provides it, with RoutingService).
 */
export abstract class RoutingReads {
  /** Whether the rules name `account`: only then does the routing field read the customer's accounts. */
  abstract readsAccount(): boolean;
}
