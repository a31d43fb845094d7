import { addressesFor, lookupFromTaskAttributes, messageAuthor, normalizeLookup, normalizePhone, parseAddress } from './identity';

const options = { region: 'US', phoneIdType: 'phone' };

describe('identity', () => {
  it('puts phones in E.164 and rejects what is not a phone number', () => {
    expect(normalizePhone('(415) 867-5309', 'US')).toBe('+14158675309');
    expect(normalizePhone('+44 20 7946 0958', 'US')).toBe('+442079460958');
    expect(normalizePhone('hello', 'US')).toBeNull();
    expect(normalizePhone('12', 'US')).toBeNull();
    expect(normalizePhone('+1'.padEnd(60, '5'), 'US')).toBeNull();
  });

  it('strips channel prefixes but keeps the Twilio address of the channel', () => {
    expect(parseAddress('whatsapp:+14158675309', 'US')).toEqual({ twilio: 'whatsapp:+14158675309', phone: '+14158675309', email: null });
    expect(parseAddress('sms:+1 415 867 5309', 'US')).toEqual({ twilio: '+14158675309', phone: '+14158675309', email: null });
    expect(parseAddress('messenger:1234567', 'US')).toEqual({ twilio: 'messenger:1234567', phone: null, email: null });
    expect(parseAddress('Jane.Doe@Example.COM', 'US')).toEqual({ twilio: 'jane.doe@example.com', phone: null, email: 'jane.doe@example.com' });
    expect(parseAddress('not an address', 'US')).toBeNull();
  });

  it('orders Segment candidates userId, email, phone, anonymousId, address', () => {
    const { candidates, addresses } = normalizeLookup(
      { address: 'whatsapp:+14158675309', anonymousId: 'anon-1', phone: '+1 212 555 0100', email: ' A@B.com ', userId: 'u1' },
      options,
    );
    expect(candidates.map((c) => `${c.type}:${c.id}`)).toEqual([
      'user_id:u1',
      'email:a@b.com',
      'phone:+12125550100',
      'anonymous_id:anon-1',
      'phone:+14158675309',
    ]);
    expect(addresses).toEqual(['+12125550100', 'whatsapp:+14158675309', 'a@b.com']);
  });

  it('uses the configured phone id type and drops garbage', () => {
    const { candidates } = normalizeLookup({ phone: '+14158675309', email: 'nope', userId: '   ' }, { region: 'US', phoneIdType: 'phone_number' });
    expect(candidates).toEqual([{ kind: 'phone', type: 'phone_number', id: '+14158675309' }]);
  });

  it('derives every address a customer may write from', () => {
    expect(addressesFor({ phones: ['+14158675309'], emails: ['a@b.com'] })).toEqual(['+14158675309', 'whatsapp:+14158675309', 'a@b.com']);
  });

  it("tells a message the customer wrote from an agent's, and names the identifier it shows", () => {
    expect(messageAuthor('whatsapp:+12015550100', 'whatsapp:+12015550100', 'US')).toEqual({ fromCustomer: true, authorType: 'phone' });
    // A phone is always the customer's: agents write as their Flex identity.
    expect(messageAuthor('+12015550100', null, 'US')).toEqual({ fromCustomer: true, authorType: 'phone' });
    expect(messageAuthor('Jane@Example.com', 'jane@example.com', 'US')).toEqual({ fromCustomer: true, authorType: 'email' });
    expect(messageAuthor('alice@contoso.example', 'jane@example.com', 'US')).toEqual({ fromCustomer: false, authorType: null });
    expect(messageAuthor('alice@contoso.example', '+12015550100', 'US')).toEqual({ fromCustomer: false, authorType: null });
    expect(messageAuthor('messenger:4521', 'messenger:4521', 'US')).toEqual({ fromCustomer: true, authorType: null });
    expect(messageAuthor('web-visitor-7', 'web-visitor-7', 'US')).toEqual({ fromCustomer: true, authorType: null });
    expect(messageAuthor('system', '+12015550100', 'US')).toEqual({ fromCustomer: false, authorType: null });
    expect(messageAuthor(null, '+12015550100', 'US')).toEqual({ fromCustomer: false, authorType: null });
  });

  it('reads Flex task attributes', () => {
    expect(lookupFromTaskAttributes({ from: 'whatsapp:+14158675309', customers: { email: 'a@b.com' }, conversationSid: `CH${'1'.repeat(32)}` })).toEqual({
      address: 'whatsapp:+14158675309',
      phone: null,
      email: 'a@b.com',
      userId: null,
      conversationSid: `CH${'1'.repeat(32)}`,
    });
    // Not a conversation sid: nothing is built from it.
    expect(lookupFromTaskAttributes({ conversationSid: 'CH1', conversation_sid: 'x'.repeat(10_000) }).conversationSid).toBeNull();
    expect(lookupFromTaskAttributes({ customers: 'garbage', from: 42 })).toEqual({
      address: null,
      phone: null,
      email: null,
      userId: null,
      conversationSid: null,
    });
  });
});
