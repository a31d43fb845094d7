import { precheck, tokenFromHeaders } from './flex-token';

const jwt = (claims: unknown) => `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const now = Date.parse('2026-11-23T12:00:00Z');

describe('tokenFromHeaders', () => {
  it('reads a bearer token, whatever the case of the scheme, before X-Flex-Token', () => {
    expect(tokenFromHeaders({ authorization: 'Bearer abc.def.ghi' })).toBe('abc.def.ghi');
    expect(tokenFromHeaders({ authorization: 'bearer  abc ' })).toBe('abc');
    expect(tokenFromHeaders({ authorization: 'Bearer a', 'x-flex-token': 'b' })).toBe('a');
    expect(tokenFromHeaders({ 'x-flex-token': ' b ' })).toBe('b');
  });

  it('finds nothing in other schemes, empty headers or repeated ones', () => {
    expect(tokenFromHeaders({ authorization: 'Basic dXNlcjpwYXNz' })).toBeNull();
    expect(tokenFromHeaders({ authorization: 'Bearer a b' })).toBeNull();
    expect(tokenFromHeaders({ authorization: 'Bearer' })).toBeNull();
    expect(tokenFromHeaders({ 'x-flex-token': '' })).toBeNull();
    expect(tokenFromHeaders({ 'x-flex-token': ['a', 'b'] })).toBeNull();
    expect(tokenFromHeaders({})).toBeNull();
  });
});

describe('precheck', () => {
  it('lets a JWT through for Twilio to judge', () => {
    expect(precheck(jwt({ sub: 'AC1', exp: now / 1000 + 60 }), now)).toBe('plausible');
    expect(precheck(jwt({ sub: 'AC1' }), now)).toBe('plausible');
  });

  it('refuses what is not a JWT, or is too long to be one', () => {
    for (const token of ['opaque', 'a.b', 'a.b.c.d', 'a.!!.c', `${jwt({})}${'x'.repeat(9000)}`, 'e30.bm90IGpzb24.c2ln', 'e30.MTIz.c2ln']) {
      expect([token.slice(0, 20), precheck(token, now)]).toEqual([token.slice(0, 20), 'malformed']);
    }
  });

  it('refuses a token whose own exp has passed', () => {
    expect(precheck(jwt({ exp: now / 1000 - 1 }), now)).toBe('expired');
  });
});
