import { createHash } from 'node:crypto';
import { plainDigest } from './digest';

describe('plainDigest', () => {
  it('is SHA-256 in base64url, cut to the length asked for', () => {
    const full = createHash('sha256').update('a token').digest('base64url');
    expect(plainDigest('a token')).toBe(full);
    expect(plainDigest('a token', 22)).toBe(full.slice(0, 22));
    expect(plainDigest('another token')).not.toBe(full);
  });
});
