/**
 * How a masked value reads: enough for an agent to recognise it ("is this j***@example.com?"),
 * not enough to use it. Shapes are recognised from the value, not the key, so a phone stored
 * under an odd trait name is still masked like a phone.
 */
const EMAIL = /^([^@\s]+)@([^@\s]+\.[^@\s]+)$/;
const PHONE = /^(?:[a-z]+:)?\+?[\d\s().-]{7,}$/i;

export function maskValue(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map(maskValue);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v)]));
  if (typeof value !== 'string') return '***';
  const email = EMAIL.exec(value);
  if (email) return `${email[1][0]}***@${email[2]}`;
  if (PHONE.test(value)) {
    const digits = value.replace(/\D/g, '');
    if (digits.length >= 7) return `***${digits.slice(-4)}`;
  }
  return value.length > 1 ? `${value[0]}***` : '***';
}
