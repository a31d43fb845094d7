import { join } from 'node:path';
import { evaluate, parseRulesFile } from '../routing/rules';
import { AccessPolicy } from '../security/access-policy';
import { preferencesOf } from '../profiles/consent-preferences';
import { ConsentRules, ConsentRulesError, consentedEvent, foldConsent, withDoNotContact, type Withheld } from './consent';

const EXAMPLE_POLICY = join(__dirname, '..', '..', 'config', 'access-policy.example.yaml');

const RULES = ConsentRules.fromSection({
  categories: {
    Personalization: { hide: ['traits.favorite_*', 'events.recommended', 'routing.customer_context.store'], mask: ['traits.city'] },
    Advertising: { hide: ['traits.ad_*', 'traits.address'] },
  },
});

const traits = { first_name: 'Jane', favorite_color: 'green', city: 'Springfield', ad_segment: 'outdoor', address: { street: 'Main St 1' } };

describe(ConsentRules.name, () => {
  it('reads consent from context.consent.categoryPreferences and nowhere else', () => {
    expect(preferencesOf({ consent: { categoryPreferences: { Advertising: true } } })).toEqual({ Advertising: true });
    expect(preferencesOf({ consent: { categoryPreferences: {} } })).toEqual({});
    expect(preferencesOf({ consent: {} })).toBeNull();
    expect(preferencesOf({ library: { name: 'analytics.js' } })).toBeNull();
    expect(preferencesOf(null)).toBeNull();
  });

  it('folds preferences as Segment does: latest wins, missing categories turn false, empty turns all false', () => {
    const first = { preferences: { Advertising: true, Personalization: true }, at: '2026-12-01T10:00:00Z' };
    const later = { preferences: { Personalization: true }, at: '2026-12-02T10:00:00Z' };
    // Given out of order: the timestamp decides.
    expect(foldConsent([later, first])).toEqual({ categories: { Advertising: false, Personalization: true }, setAt: '2026-12-02T10:00:00.000Z', known: true });
    expect(foldConsent([first, { preferences: {}, at: '2026-12-03T00:00:00Z' }]).categories).toEqual({ Advertising: false, Personalization: false });
    expect(foldConsent([])).toEqual({ categories: {}, setAt: null, known: true });
  });

  it('takes a "Do Not Contact" request as a newer choice declining the categories the file names', () => {
    const rules = ConsentRules.fromSection({ doNotContact: ['Advertising'], categories: {} });
    expect(rules.doNotContact).toEqual(['Advertising']);
    expect(rules.active).toBe(true);
    const consented = foldConsent([{ preferences: { Advertising: true, Personalization: true }, at: '2026-12-01T10:00:00Z' }]);
    const after = withDoNotContact(consented, rules.doNotContact, '2026-12-02T10:00:00Z');
    expect(after).toEqual({ categories: { Advertising: false, Personalization: true }, setAt: '2026-12-02T10:00:00.000Z', known: true });
    expect(rules.status(after, 'Advertising')).toBe('declined');
    // Consent given again since the call wins; no request, or no categories, changes nothing.
    expect(withDoNotContact(consented, ['Advertising'], '2026-11-30T10:00:00Z')).toBe(consented);
    expect(withDoNotContact(consented, ['Advertising'], null)).toBe(consented);
    expect(withDoNotContact(consented, [], '2026-12-02T10:00:00Z')).toBe(consented);
    // Never collected, or unreadable: the request still declines.
    expect(withDoNotContact(foldConsent([], false), ['Advertising'], '2026-12-02T10:00:00Z').categories).toEqual({ Advertising: false });
    expect(() => ConsentRules.fromSection({ doNotContact: [''], categories: {} })).toThrow(ConsentRulesError);
  });

  it('hides and masks what the customer did not consent to, and says which consent covers it', () => {
    const view = RULES.view(foldConsent([{ preferences: { Advertising: true, Personalization: false }, at: '2026-12-01T00:00:00Z' }]));
    const withheld: Withheld[] = [];
    expect(view.filter('traits', traits, withheld)).toEqual({ first_name: 'Jane', city: 'S***', ad_segment: 'outdoor', address: { street: 'Main St 1' } });
    expect(withheld).toEqual([
      { part: 'traits', path: 'favorite_color', consent: 'Personalization', action: 'hidden' },
      { part: 'traits', path: 'city', consent: 'Personalization', action: 'masked' },
    ]);
    expect(consentedEvent(view, { id: 'e1', properties: { recommended: ['tent'], sku: 'T1' } })).toEqual({ id: 'e1', properties: { sku: 'T1' } });
    expect(view.filter('routing', { customer_context: { store: 'Loop', vip: true } })).toEqual({ customer_context: { vip: true } });
  });

  it('counts a category never collected as declined, unless the file says consented', () => {
    const never = foldConsent([]);
    expect(RULES.view(never).filter('traits', traits)).toEqual({ first_name: 'Jane', city: 'S***' });
    const lenient = ConsentRules.fromSection({ neverCollected: 'consented', categories: { Advertising: { hide: ['traits.ad_*'] } } });
    expect(lenient.view(never).filter('traits', traits)).toEqual(traits);
    expect(lenient.status(never, 'Advertising')).toBe('never_collected');
    // Unreadable consent is never taken for consent.
    expect(RULES.status(foldConsent([{ preferences: { Advertising: true }, at: '2026-12-01T00:00:00Z' }], false), 'Advertising')).toBe('never_collected');
  });

  it('lets everything through once the customer consented', () => {
    const view = RULES.view(foldConsent([{ preferences: { Advertising: true, Personalization: true }, at: '2026-12-01T00:00:00Z' }]));
    expect(view.restricts).toBe(false);
    expect(view.filter('traits', traits)).toBe(traits);
  });

  it("filters an account's traits by the rules that name them under traits.account, not by the person's traits of the same name", () => {
    const rules = ConsentRules.fromSection({
      categories: {
        Personalization: { hide: ['traits.account.tier', 'traits.timezone'], mask: ['traits.account.region'] },
        Advertising: { hide: ['traits.*'] },
      },
    });
    const account = { tier: 'enterprise', region: 'EMEA', timezone: 'Europe/Paris', name: 'Acme' };
    const withheld: Withheld[] = [];
    const onlyAds = rules.view(foldConsent([{ preferences: { Advertising: true }, at: '2026-12-01T00:00:00Z' }]));
    expect(onlyAds.accountTraits(account, withheld)).toEqual({ region: 'E***', timezone: 'Europe/Paris', name: 'Acme' });
    expect(withheld).toEqual([
      { part: 'traits', path: 'account.tier', consent: 'Personalization', action: 'hidden' },
      { part: 'traits', path: 'account.region', consent: 'Personalization', action: 'masked' },
    ]);
    expect(onlyAds.refusal('account.tier')).toBe('Personalization');
    // A rule over every trait covers the account's too.
    expect(rules.view(foldConsent([{ preferences: { Personalization: true }, at: '2026-12-01T00:00:00Z' }])).accountTraits(account)).toEqual({});
    expect(rules.view(foldConsent([{ preferences: { Personalization: true, Advertising: true }, at: '2026-12-01T00:00:00Z' }])).accountTraits(account)).toBe(
      account,
    );
  });

  it('refuses routing reads of hidden or masked trait paths, objects around them included', () => {
    const view = RULES.view(foldConsent([]));
    expect(view.refusal('favorite_color')).toBe('Personalization');
    expect(view.refusal('city')).toBe('Personalization');
    expect(view.refusal('address.street')).toBe('Advertising');
    expect(view.refusal('first_name')).toBeNull();
  });

  it('refuses the rules that read a hidden path, and the explanation says which consent', () => {
    const ruleSet = parseRulesFile(`
defaults: { green: false, tier: "none" }
rules:
  - name: green_fans
    when: 'has(traits.favorite_color) && traits.favorite_color == "green"'
    set: { green: true }
  - name: tier
    set: { tier: '"basic"' }
  - name: ads_ok
    when: 'has(consent.Advertising) && consent.Advertising'
    set: { tier: '"ads"' }
`);
    const view = RULES.view(foldConsent([{ preferences: { Advertising: true }, at: '2026-12-01T00:00:00Z' }]));
    const outcome = evaluate(ruleSet, {
      traits: view.filter('traits', traits),
      audiences: [],
      signals: {},
      task: {},
      consent: view.categories(),
      refuse: (p) => view.refusal(p),
    });
    expect(outcome.attributes).toEqual({ green: false, tier: 'ads' });
    expect(outcome.explanations[0]).toEqual({
      rule: 'green_fans',
      matched: false,
      reason: "refused: reads traits.favorite_color, hidden by the customer's consent (Personalization)",
    });
    // Without consent the same rule reads the trait.
    expect(evaluate(ruleSet, { traits, audiences: [], signals: {}, task: {} }).attributes).toEqual({ green: true, tier: 'basic' });
  });

  it('refuses a bad consent section with the path of the problem', () => {
    expect(() => ConsentRules.fromSection({ categories: { Ads: { hide: ['ssn'] } } })).toThrow(ConsentRulesError);
    expect(() => ConsentRules.fromSection({ categories: { Ads: { hide: ['traits.ssn'] } }, extra: 1 })).toThrow(/consent/);
    expect(() => ConsentRules.fromSection({ neverCollected: 'maybe', categories: {} })).toThrow(/neverCollected/);
  });

  it('loads the example policy, whose consent rule hides the preferred store until the customer consents', () => {
    expect(() => AccessPolicy.load(EXAMPLE_POLICY)).not.toThrow();
    const rules = ConsentRules.load(EXAMPLE_POLICY);
    expect(rules.categories).toEqual(['Personalization']);
    expect(rules.view(foldConsent([])).filter('traits', { preferred_store: 'Loop', plan: 'gold' })).toEqual({ plan: 'gold' });
  });
});
