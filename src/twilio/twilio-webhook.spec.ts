import { Registry } from 'prom-client';
import { DomainError, ErrorCode } from '../common/errors';
import { WebhookMetrics } from '../metrics/webhook-metrics';
import { CountedTwilioWebhook, type WebhookAnswer } from './twilio-webhook';

/** A webhook whose handling is given per test. */
class Webhook extends CountedTwilioWebhook {
  constructor(
    metrics: WebhookMetrics,
    private readonly work: (body: unknown) => Promise<WebhookAnswer>,
  ) {
    super('copilot', metrics);
  }

  protected handle(body: unknown): Promise<WebhookAnswer> {
    return this.work(body);
  }
}

const counted = async (registry: Registry) =>
  Object.fromEntries(
    (await registry.getSingleMetric('cc_webhook_events_total')!.get()).values.map((v) => [`${String(v.labels.source)}/${String(v.labels.outcome)}`, v.value]),
  );

describe('CountedTwilioWebhook', () => {
  it('answers what handle answered and counts its outcome under the source, once per event', async () => {
    const registry = new Registry();
    const webhook = new Webhook(new WebhookMetrics(registry), async (body) => ({ outcome: (body as { outcome: string }).outcome }));
    await expect(webhook.receive({ outcome: 'applied' })).resolves.toEqual({ outcome: 'applied' });
    await webhook.receive({ outcome: 'applied' });
    await webhook.receive({ outcome: 'ignored' });
    expect(await counted(registry)).toEqual({ 'copilot/applied': 2, 'copilot/ignored': 1 });
  });

  it('counts nothing for a body handle refuses: the refusal is the HTTP status', async () => {
    const registry = new Registry();
    const webhook = new Webhook(new WebhookMetrics(registry), () => Promise.reject(new DomainError(ErrorCode.BAD_REQUEST, 'not a note')));
    await expect(webhook.receive({})).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST });
    expect(await counted(registry)).toEqual({});
  });
});
