import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { eventually } from './support/twilio-callers';

/**
 * The source behind SEGMENT_WRITE_KEY may also feed the webhook destination: then every event the
 * service tracks comes back to /webhooks/segment. Applied, a `Customer Context Changed` would
 * change the context, be tracked again, come back again, without end.
 */
describe('Segment feedback loop (e2e)', () => {
  let h: Harness;
  let customer: SandboxCustomer;
  const EVENTS = /* GraphQL */ `query($userId: String!) { customerContext(lookup: {userId: $userId}) { events(first: 50) { edges { node { name } } } } }`;
  const eventNames = async (): Promise<string[]> => {
    const result = await h.gql<{ customerContext: { events: { edges: Array<{ node: { name: string } }> } } }>(EVENTS, { userId: customer.userId });
    return result.data!.customerContext.events.edges.map((e) => e.node.name);
  };

  beforeAll(async () => {
    // The sandbox's collector stands in for the tracking API; one event per batch.
    h = await startHarness({ redis: false, sandbox: { customers: 10 }, env: { SEGMENT_WEBHOOK_SECRET: 'loop-secret', TRACKING_FLUSH_AT: '1' } });
    customer = h.sandbox.data.customers.find((c) => c.index > 5 && c.userId && c.profileId)!;
  });
  afterAll(() => h.close());

  it("drops the service's own tracked events when Segment sends them back, and still applies the customer's", async () => {
    await eventNames(); // known (cached), so webhook news about this customer applies
    const news = await postSegment(h, { type: 'identify', userId: customer.userId, messageId: 'loop-identify-1', traits: { plan: 'gold-loop' } });
    expect(await news.json()).toMatchObject({ outcomes: { applied: 1 } });

    // What the service tracked about that change, exactly as analytics-node sent it.
    const tracked = await eventually(
      () => h.sandbox.tracking.events().find((e) => e.event === 'Customer Context Changed' && e.userId === customer.userId),
      (e) => e !== undefined,
    );
    expect(tracked!.context).toMatchObject({ customer_context: { tracked_by: 'customer-context' }, library: { name: '@segment/analytics-node' } });

    // Segment forwards it to the webhook destination: ignored, not applied, so nothing is tracked again.
    const echo = await postSegment(h, tracked);
    expect(echo.status).toBe(200);
    expect(await echo.json()).toMatchObject({ received: 1, outcomes: { applied: 0, ignored: 1 } });
    expect(await eventNames()).not.toContain('Customer Context Changed');

    // The same name from anyone else is the customer's news, and applies.
    const lookalike = {
      type: 'track',
      userId: customer.userId,
      messageId: 'loop-track-2',
      event: 'Customer Context Changed',
      timestamp: new Date().toISOString(),
    };
    expect(await (await postSegment(h, lookalike)).json()).toMatchObject({ outcomes: { applied: 1 } });
    expect(await eventNames()).toContain('Customer Context Changed');
  });
});
