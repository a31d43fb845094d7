// Consent rules and a customer's consent, without the framework. Segment keeps an end user's
// consent as `context.consent.categoryPreferences` on their events, keyed by consent category id
// (https://segment.com/docs/privacy/consent-management/consent-in-unify/#consent-object), and the
// Profile API does not return it with the traits ("Consent preferences not returned in the
// response", https://segment.com/docs/unify/profile-api/): it is read from the events that carry it.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { globToRegExp } from '../security/access-policy';
import { maskValue } from '../security/masking';
import type { ConsentRecord } from '../profiles/consent-preferences';

/** The parts of a customer's data a consent rule can cover, as its paths' first segment says. */
export type ConsentPart = 'traits' | 'events' | 'routing';

const path = z
  .string()
  .trim()
  .max(200)
  .regex(/^(traits|events|routing)\.\S+$/, 'a path starts with traits., events. or routing.');
const categorySchema = z.object({ hide: z.array(path).default([]), mask: z.array(path).default([]) }).strict();
/** The `consent` section of ACCESS_POLICY_FILE. */
export const consentSectionSchema = z
  .object({
    /** How a category the customer was never asked about counts: as declined (the default) or as consented. */
    neverCollected: z.enum(['declined', 'consented']).default('declined'),
    /** Roles that may read CustomerContext.consent; absent: every role. */
    visibleTo: z.array(z.string().min(1)).optional(),
    /**
     * Categories a Conversational Intelligence "Do Not Contact" result declines: the customer said
     * so on a call, which counts like a newer consent preference setting these to false.
     */
    doNotContact: z.array(z.string().min(1).max(100)).max(50).default([]),
    categories: z.record(z.string().min(1).max(100), categorySchema),
  })
  .strict();

export type ConsentStatus = 'consented' | 'declined' | 'never_collected';

/** One customer's consent as their events set it. */
export interface ConsentState {
  /** Category id → the customer's latest choice; a category never sent is absent. */
  categories: Record<string, boolean>;
  /** When it was last set (the newest event carrying consent), ISO 8601; null: never. */
  setAt: string | null;
  /** False when the events it comes from could not be read: everything counts as never collected. */
  known: boolean;
}

/** A part of the answer withheld because the customer did not consent to its category. */
export interface Withheld {
  part: ConsentPart;
  path: string;
  /** The consent category that covers it, e.g. `Personalization`. */
  consent: string;
  action: 'hidden' | 'masked';
}

interface Rule {
  part: ConsentPart;
  pattern: RegExp;
  glob: string;
  category: string;
  action: 'hidden' | 'masked';
}

/**
 * The customer's consent after these records, applied oldest first as Segment does: the latest
 * preferences win (device-level conflicts), a category an object leaves out becomes false once it
 * exists, and an empty object sets every known category to false (consent-in-unify, "Consent object").
 */
export function foldConsent(records: readonly ConsentRecord[], known = true): ConsentState {
  const ordered = records.filter((r) => !Number.isNaN(Date.parse(r.at))).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const categories: Record<string, boolean> = {};
  for (const { preferences } of ordered) {
    for (const category of Object.keys(categories)) categories[category] = false;
    for (const [category, value] of Object.entries(preferences)) categories[category] = value === true;
  }
  const last = ordered[ordered.length - 1];
  return { categories, setAt: last ? new Date(last.at).toISOString() : null, known };
}

/**
 * The consent after a "Do Not Contact" request the customer made at `at` (a Conversational
 * Intelligence result): the given categories declined, unless the customer set their consent
 * again since (the newest choice wins, as between Segment's consent preference objects).
 */
export function withDoNotContact(state: ConsentState, categories: readonly string[], at: string | null): ConsentState {
  if (!at || categories.length === 0 || Number.isNaN(Date.parse(at))) return state;
  if (state.known && state.setAt && Date.parse(state.setAt) >= Date.parse(at)) return state;
  const declined = Object.fromEntries(categories.map((c) => [c, false]));
  return { categories: { ...(state.known ? state.categories : {}), ...declined }, setAt: new Date(at).toISOString(), known: true };
}

export class ConsentRulesError extends Error {
  override name = 'ConsentRulesError';
}

/**
 * The consent rules of the access policy file: per consent category, which trait, event-property
 * and routing-attribute paths are hidden or masked when the customer has not consented. They apply
 * to every role (the customer's choice, not the agent's), before the role rules.
 */
export class ConsentRules {
  static readonly NONE = new ConsentRules([], 'declined', undefined, [], []);

  private constructor(
    private readonly rules: readonly Rule[],
    private readonly neverCollected: 'declined' | 'consented',
    private readonly visibleToRoles: readonly string[] | undefined,
    /** The categories the file names, in file order. */
    readonly categories: readonly string[],
    /** The categories a "Do Not Contact" result declines. */
    readonly doNotContact: readonly string[],
  ) {}

  /** True when the file has consent rules (or Do Not Contact categories): only then is a customer's consent read at all. */
  get active(): boolean {
    return this.rules.length > 0 || this.doNotContact.length > 0;
  }

  static fromSection(section: unknown, source = 'consent rules'): ConsentRules {
    if (section === undefined || section === null) return ConsentRules.NONE;
    const parsed = consentSectionSchema.safeParse(section);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `consent.${i.path.join('.')}: ${i.message}`).join('; ');
      throw new ConsentRulesError(`${source}: ${issues}`);
    }
    const rules: Rule[] = [];
    for (const [category, lists] of Object.entries(parsed.data.categories)) {
      for (const [action, paths] of [
        ['hidden', lists.hide],
        ['masked', lists.mask],
      ] as const) {
        for (const full of paths) {
          const dot = full.indexOf('.');
          const glob = full.slice(dot + 1);
          rules.push({ part: full.slice(0, dot) as ConsentPart, pattern: globToRegExp(glob), glob, category, action });
        }
      }
    }
    // Hiding beats masking when two categories cover one path.
    rules.sort((a, b) => (a.action === b.action ? 0 : a.action === 'hidden' ? -1 : 1));
    return new ConsentRules(rules, parsed.data.neverCollected, parsed.data.visibleTo, Object.keys(parsed.data.categories), parsed.data.doNotContact);
  }

  /** The `consent` section of ACCESS_POLICY_FILE; no file or no section: no rules. */
  static load(file: string | undefined): ConsentRules {
    if (!file) return ConsentRules.NONE;
    let raw: unknown;
    try {
      raw = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConsentRulesError(`ACCESS_POLICY_FILE ${file}: ${(error as Error).message}`);
    }
    return ConsentRules.fromSection(isObject(raw) ? raw.consent : undefined, `ACCESS_POLICY_FILE ${file}`);
  }

  /** Whether a caller with these roles may read a customer's consent. */
  visibleTo(roles: readonly string[]): boolean {
    return this.visibleToRoles === undefined || roles.some((r) => this.visibleToRoles!.includes(r));
  }

  status(state: ConsentState, category: string): ConsentStatus {
    const value = state.known ? state.categories[category] : undefined;
    return value === undefined ? 'never_collected' : value ? 'consented' : 'declined';
  }

  /** What one customer's consent lets through. */
  view(state: ConsentState): ConsentView {
    const declined = new Set(
      this.categories.filter((c) => {
        const status = this.status(state, c);
        return status === 'declined' || (status === 'never_collected' && this.neverCollected === 'declined');
      }),
    );
    return new ConsentView(
      this.rules.filter((r) => declined.has(r.category)),
      state,
    );
  }
}

/** One customer's data as their consent allows it to be shown. */
export class ConsentView {
  constructor(
    private readonly rules: readonly Rule[],
    readonly state: ConsentState,
  ) {}

  get restricts(): boolean {
    return this.rules.length > 0;
  }

  /** A copy without what the customer did not consent to; what was withheld goes to `withheld`. */
  filter(part: ConsentPart, value: Record<string, unknown>, withheld?: Withheld[]): Record<string, unknown> {
    const rules = this.rules.filter((r) => r.part === part);
    if (rules.length === 0) return value;
    return walk(rules, part, value, '', withheld);
  }

  /**
   * An account's traits (`Account.traits`, `account.traits` in routing rules) as this consent allows
   * them, under the naming the access policy gives them: `traits.account.<key>` (`traits.account.*`
   * covers them all, and so does `traits.*`). A rule on the person's trait (`traits.timezone`) does
   * not reach an account trait of the same name: the consent is the person's, about data about them
   * (Segment keeps it on the user's profile, never on an account's), while an account's traits
   * describe the account, shared by all of its users. Where an account's traits are about the person
   * (a sole trader's account), the policy names them. What is withheld goes to `withheld` as `account.<key>`.
   */
  accountTraits(traits: Record<string, unknown>, withheld?: Withheld[]): Record<string, unknown> {
    if (!this.rules.some((r) => r.part === 'traits')) return traits;
    const shown = this.filter('traits', { account: traits }, withheld).account;
    return isObject(shown) ? shown : {};
  }

  /**
   * The category that hides `traits.<path>` from routing (hidden or masked alike: a masked value
   * is no ground to route on), or null. A rule on an enclosing object covers the path.
   */
  refusal(path: string): string | null {
    const segments = path.split('.');
    for (let i = segments.length; i > 0; i--) {
      const prefix = segments.slice(0, i).join('.');
      const rule = this.rules.find((r) => r.part === 'traits' && r.pattern.test(prefix));
      if (rule) return rule.category;
    }
    return null;
  }

  /** Category id → consented, for routing expressions (`consent.Advertising`); never collected ones absent. */
  categories(): Record<string, boolean> {
    return this.state.known ? { ...this.state.categories } : {};
  }
}

/** An event with the properties its customer's consent allows. */
export function consentedEvent<E extends { properties: Record<string, unknown> | null }>(view: ConsentView, event: E): E {
  return view.restricts && event.properties ? { ...event, properties: view.filter('events', event.properties) } : event;
}

/** Withheld parts, one per path, in the order found. */
export function uniqueWithheld(items: readonly Withheld[]): Withheld[] {
  const seen = new Map<string, Withheld>();
  for (const item of items) {
    const key = `${item.part}\n${item.path}`;
    if (!seen.has(key)) seen.set(key, item);
  }
  return [...seen.values()];
}

function walk(rules: readonly Rule[], part: ConsentPart, object: Record<string, unknown>, prefix: string, withheld?: Withheld[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const rule = rules.find((r) => r.pattern.test(path));
    if (rule) {
      withheld?.push({ part, path, consent: rule.category, action: rule.action });
      if (rule.action === 'masked') out[key] = maskValue(value);
      continue;
    }
    if (isObject(value)) out[key] = walk(rules, part, value, path, withheld);
    else if (Array.isArray(value)) out[key] = (value as unknown[]).map((item) => (isObject(item) ? walk(rules, part, item, path, withheld) : item));
    else out[key] = value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
