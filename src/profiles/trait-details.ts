import type { ProfileTraits, Traits } from './profile.types';

/** One trait with where it came from, as `CustomerContext.traitDetails` gives it. */
export interface TraitDetail {
  key: string;
  value: unknown;
  /** The Segment source that last set it; null when Segment did not say (or a webhook just did). */
  source: string | null;
  /** When it was last set; null when unknown. */
  updatedAt: string | null;
  /** Set longer ago than TRAIT_STALE_AFTER_MS; false when unknown (nothing says it is old). */
  stale: boolean;
}

/** Each trait of a verbose read with its origin and whether it is older than `staleAfterMs` at `now`. */
export function traitDetailsOf(profile: ProfileTraits, now: number, staleAfterMs: number): TraitDetail[] {
  return Object.entries(profile.traits).map(([key, value]) => {
    const origin = profile.origins[key];
    const updatedAt = origin?.updatedAt ?? null;
    return {
      key,
      value,
      source: origin?.sourceId ?? null,
      updatedAt,
      stale: updatedAt !== null && now - Date.parse(updatedAt) > staleAfterMs,
    };
  });
}

/**
 * The details a filter over trait maps lets through (the access policy, consent): the very
 * filter `traits` passes, applied to the same key → value map, so a trait hidden or masked in
 * `traits` is hidden or masked here too; an object trait keeps only what the filter left of it.
 */
export function filterTraitDetails(details: readonly TraitDetail[], filter: (traits: Traits) => Traits): TraitDetail[] {
  const shown = filter(Object.fromEntries(details.map((d) => [d.key, d.value])));
  return details.filter((d) => Object.hasOwn(shown, d.key)).map((d) => ({ ...d, value: shown[d.key] }));
}
