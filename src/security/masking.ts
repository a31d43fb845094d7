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

/** E.164, as Segment and Twilio write phone numbers: `+` and 7 to 15 digits. */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * The identifier type a free-form id is written as, for ids whose type says nothing of their
 * content (a Segment group id may be a domain, an account number, an email or a phone number):
 * `email`, `phone` (E.164 only: a bare number is as likely an account number), or null.
 */
export function identifierShape(value: string): 'email' | 'phone' | null {
  if (EMAIL.test(value)) return 'email';
  return E164.test(value.replace(/[\s().-]/g, '')) ? 'phone' : null;
}
