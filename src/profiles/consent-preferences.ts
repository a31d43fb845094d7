/** One consent preference object and when it was sent. */
export interface ConsentRecord {
  preferences: Record<string, unknown>;
  at: string;
}

/**
 * `context.consent.categoryPreferences` of a Segment message or Profile API event, or null when
 * it carries none. An empty object counts: Segment reads it as "false for every category".
 */
export function preferencesOf(context: unknown): Record<string, unknown> | null {
  const consent = isObject(context) ? context.consent : undefined;
  const preferences = isObject(consent) ? consent.categoryPreferences : undefined;
  return isObject(preferences) ? preferences : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
