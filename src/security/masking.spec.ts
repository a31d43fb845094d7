import { maskValue } from './masking';

describe('maskValue', () => {
  it('keeps the first letter and the domain of an email', () => {
    expect(maskValue('jane.doe@example.com')).toBe('j***@example.com');
  });

  it('keeps the last four digits of a phone, channel prefix or not', () => {
    expect(maskValue('+12015550100')).toBe('***0100');
    expect(maskValue('whatsapp:+44 20 7946 0958')).toBe('***0958');
    expect(maskValue('(201) 555-0100')).toBe('***0100');
  });

  it('keeps one character of anything else and hides non-strings entirely', () => {
    expect(maskValue('Gold Street 5')).toBe('G***');
    expect(maskValue('x')).toBe('***');
    expect(maskValue(1234)).toBe('***');
    expect(maskValue(true)).toBe('***');
    expect(maskValue(null)).toBeNull();
  });

  it('masks inside lists and objects', () => {
    expect(maskValue(['a@b.io', { home: '+12015550100' }])).toEqual(['a***@b.io', { home: '***0100' }]);
  });
});
