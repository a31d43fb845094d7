import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { PendingChanges } from '../changes/pending-changes';
import type { ProfileEvent } from '../profiles/profile.types';
import type { Insight } from '../changes/insight';
import type { ConsentRecord } from '../profiles/consent-preferences';
import { ConsentRules, foldConsent, withDoNotContact, type ConsentState, type ConsentView } from './consent';

/** When the customer last asked not to be contacted (a matched "Do Not Contact" operator), if ever. */
function doNotContactAt(insights: readonly Insight[]): string | null {
  return insights
    .filter((i) => i.kind === 'do_not_contact' && i.label === 'true')
    .reduce<string | null>((latest, i) => (!latest || Date.parse(i.at) > Date.parse(latest) ? i.at : latest), null);
}

/**
 * The customer one request resolved, as far as their consent reads them: the context's
 * `CustomerRoot`. The context builds on this folder, so the type names what is read, not the class.
 */
export interface ResolvedCustomer {
  readonly profileKey: string | null;
  /** Reads `key` once per request: every field that needs it shares the read. */
  once<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** How each source's reads went: `fetchedAt` null when one brought nothing, `error` when one failed. */
  readonly sources: ReadonlyMap<string, { readonly fetchedAt: number | null; readonly error: string | null }>;
}

const NEVER_SET: ConsentState = { categories: {}, setAt: null, known: true };

/**
 * A customer's consent, as the events they sent set it: the events the Profile API returns (the
 * last 14 days) and the messages Segment's webhook delivered since, whichever is newer. Read once
 * per request, and only when the access policy has consent rules or a caller asks for it.
 */
@Injectable()
export class ConsentService {
  readonly rules: ConsentRules;
  /**
   * For pushes, which carry no customer state: as if the customer had declined every category, so
   * a push never shows what a query might hide. The panel queries again on each push anyway.
   */
  readonly nothingConsented: ConsentView;
  /** Every category the policy names declined: what counts while the consent webhooks delivered cannot be read. */
  private readonly allDeclined: ConsentState;

  constructor(
    config: AppConfig,
    private readonly pending: PendingChanges,
  ) {
    this.rules = ConsentRules.load(config.access.policyFile);
    this.nothingConsented = this.rules.view({ categories: Object.fromEntries(this.rules.categories.map((c) => [c, false])), setAt: null, known: true });
    const named = new Set([...this.rules.categories, ...this.rules.doNotContact]);
    this.allDeclined = { categories: Object.fromEntries([...named].map((c) => [c, false])), setAt: null, known: true };
  }

  /**
   * The customer's consent; `events` reads their events and `insights` their Conversational
   * Intelligence results (through the request's customer, so once). A "Do Not Contact" result
   * declines the categories the policy's `consent.doNotContact` lists.
   */
  state(root: ResolvedCustomer, events: () => Promise<ProfileEvent[]>, insights: () => Promise<Insight[]> = async () => []): Promise<ConsentState> {
    const profileKey = root.profileKey;
    if (!profileKey) return Promise.resolve(NEVER_SET);
    return root.once('consent', async () => {
      const asked = this.rules.doNotContact.length > 0;
      const [fetched, delivered, results] = await Promise.all([
        events(),
        // null: Redis could not say what webhooks delivered (a withdrawal may be among them).
        this.pending.consent(profileKey).catch(() => null),
        asked ? insights() : Promise.resolve([] as Insight[]),
      ]);
      // Closed, never open: every category declined until the deliveries can be read again.
      if (delivered === null) return this.allDeclined;
      const records: ConsentRecord[] = [...delivered];
      for (const event of fetched) if (event.consent) records.push({ preferences: event.consent, at: event.occurredAt });
      // The events could not be read: what the customer chose is unknown, which counts as never collected.
      const eventsRead = root.sources.get('segment.events')?.fetchedAt !== null;
      // The insights could not be read: a Do Not Contact may be among them, so it counts as made
      // just now and declines its categories (closed, never open) until they can be read again.
      const insightsUnread = asked && Boolean(root.sources.get('twilio.intelligence')?.error);
      const dncAt = insightsUnread ? new Date().toISOString() : doNotContactAt(results);
      return withDoNotContact(foldConsent(records, eventsRead || delivered.length > 0), this.rules.doNotContact, dncAt);
    });
  }

  /** What the customer's consent lets through; without consent rules, everything (and nothing is read). */
  async view(root: ResolvedCustomer, events: () => Promise<ProfileEvent[]>, insights?: () => Promise<Insight[]>): Promise<ConsentView> {
    if (!this.rules.active) return this.rules.view(NEVER_SET);
    return this.rules.view(await this.state(root, events, insights));
  }
}
