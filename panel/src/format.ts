import type { CustomerContext } from './query';

/** Display names for what the API returns as keys. */

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

export function displayName(context: CustomerContext): string {
  const { traits } = context;
  const full = [text(traits.first_name), text(traits.last_name)].filter(Boolean).join(' ');
  // A customer only Twilio knows has no traits; the conversation is named after them.
  const conversation = context.conversations.edges[0]?.node.friendlyName;
  return (
    text(traits.name) ?? (full || null) ?? text(traits.email) ?? text(traits.phone) ?? idOf(context, 'user_id') ?? text(conversation) ?? 'Unknown customer'
  );
}

export const idOf = (context: CustomerContext, type: string): string | null => context.externalIds.find((id) => id.type === type)?.id ?? null;

/** "segment.external_ids" → "Segment identities". */
export function sourceLabel(source: string): string {
  const [system = source, part = ''] = source.split('.');
  const name = part === 'external_ids' ? 'identities' : part.replace(/_/g, ' ');
  return `${system.charAt(0).toUpperCase()}${system.slice(1)} ${name}`.trim();
}

/** "high_value" → "high value". */
export const humanize = (key: string) => key.replace(/[_-]+/g, ' ');

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
