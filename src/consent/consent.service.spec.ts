import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { CustomerRoot } from '../context/customer-context.service';
import type { Insight } from '../changes/insight';
import type { PendingChanges } from '../changes/pending-changes';
import type { ProfileEvent } from '../profiles/profile.types';
import { ConsentService } from './consent.service';

/** A "Do Not Contact" result reaches the customer's consent through the service, as routing and GraphQL read it. */
describe(ConsentService.name, () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cc-consent-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const service = (policy: string, delivered: () => Promise<unknown[]> = () => Promise.resolve([])) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, policy);
    const pending = { consent: delivered } as unknown as PendingChanges;
    return new ConsentService({ access: { policyFile: file } } as AppConfig, pending);
  };
  const root = () => new CustomerRoot('use_dnc', null, [], [], null);
  const dnc = (label: string, at: string): Insight => ({
    transcriptSid: 'GT1',
    operatorSid: null,
    operator: 'Do Not Contact Me',
    kind: 'do_not_contact',
    label,
    text: null,
    at,
  });
  const consented: ProfileEvent = {
    id: 'e1',
    type: 'track',
    name: 'Segment Consent Preference Updated',
    occurredAt: '2026-12-01T10:00:00.000Z',
    properties: null,
    consent: { Advertising: true },
  };
  const POLICY = 'roles: {}\nconsent:\n  doNotContact: [Advertising]\n  categories: {}\n';

  it('declines the listed categories after a matched Do Not Contact, for routing as for GraphQL', async () => {
    const consent = service(POLICY);
    const events = () => Promise.resolve([consented]);
    const view = await consent.view(root(), events, () => Promise.resolve([dnc('true', '2026-12-02T10:00:00.000Z')]));
    expect(view.categories()).toEqual({ Advertising: false });
    // Not matched, or before the customer consented: their consent stands.
    expect((await consent.view(root(), events, () => Promise.resolve([dnc('false', '2026-12-02T10:00:00.000Z')]))).categories()).toEqual({ Advertising: true });
    expect((await consent.view(root(), events, () => Promise.resolve([dnc('true', '2026-11-30T10:00:00.000Z')]))).categories()).toEqual({ Advertising: true });
  });

  it('declines every category while the consent webhooks delivered cannot be read (a withdrawal may be among them)', async () => {
    const unreadable = service(POLICY, () => Promise.reject(new Error('Redis is away')));
    const events = () => Promise.resolve([consented]);
    expect((await unreadable.view(root(), events)).categories()).toEqual({ Advertising: false });
    // Readable again: the customer's own choice stands.
    expect((await service(POLICY).view(root(), events)).categories()).toEqual({ Advertising: true });
  });

  it('declines the listed categories when the insights could not be read (a Do Not Contact may be among them)', async () => {
    const consent = service(POLICY);
    const customer = root();
    // As the customer context answers a store it cannot read: its source's error, and no insights.
    const unreadable = () => {
      customer.record('twilio.intelligence', { fetchedAt: null, stale: true, error: 'UPSTREAM_UNAVAILABLE' });
      return Promise.resolve([] as Insight[]);
    };
    const view = await consent.view(customer, () => Promise.resolve([consented]), unreadable);
    expect(view.categories()).toEqual({ Advertising: false });
  });

  it('reads no insights when the policy names no categories for it', async () => {
    const consent = service('roles: {}\nconsent:\n  categories: { Advertising: { hide: ["traits.ad_*"] } }\n');
    const insights = jest.fn(() => Promise.resolve([dnc('true', '2026-12-02T10:00:00.000Z')]));
    const state = await consent.state(root(), () => Promise.resolve([consented]), insights);
    expect(state.categories).toEqual({ Advertising: true });
    expect(insights).not.toHaveBeenCalled();
  });
});
