import { identifierPath, profileIdentifier } from './profile-identifier';

describe('profileIdentifier', () => {
  const ids = [
    { type: 'anonymous_id', id: 'a1' },
    { type: 'email', id: 'jane+vip@example.com' },
    { type: 'user_id', id: 'u1' },
  ];

  it('names the profile by its user_id when it has one, whatever the lookup resolved by', () => {
    expect(profileIdentifier({ type: 'email', id: 'jane+vip@example.com' }, ids)).toEqual({ type: 'user_id', id: 'u1' });
  });

  it('falls back to the identifier the lookup resolved by, then an anonymous_id, then any other', () => {
    const noUser = ids.filter((e) => e.type !== 'user_id');
    expect(profileIdentifier({ type: 'phone', id: '+12015550100' }, noUser)).toEqual({ type: 'phone', id: '+12015550100' });
    expect(profileIdentifier(null, noUser)).toEqual({ type: 'anonymous_id', id: 'a1' });
    expect(profileIdentifier(null, [{ type: 'email', id: 'x@example.com' }])).toEqual({ type: 'email', id: 'x@example.com' });
  });

  it('has none without any identifier, and never a use_ id', () => {
    expect(profileIdentifier(null, [])).toBeNull();
    expect(profileIdentifier({ type: '', id: 'use_abc' }, [{ type: 'user_id', id: '' }])).toBeNull();
  });
});

describe('identifierPath', () => {
  it('percent-encodes the value: a + is %2B (profile-api.md), an @ is %40', () => {
    expect(identifierPath({ type: 'phone', id: '+12015550100' })).toBe('phone:%2B12015550100');
    expect(identifierPath({ type: 'email', id: 'jane+vip@example.com' })).toBe('email:jane%2Bvip%40example.com');
  });

  it('escapes every character outside the unreserved set, the colon and slash of a value included', () => {
    expect(identifierPath({ type: 'user_id', id: "a:b/c d!'()*~._-" })).toBe('user_id:a%3Ab%2Fc%20d%21%27%28%29%2A~._-');
  });
});
