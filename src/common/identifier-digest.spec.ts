import { Logger } from '@nestjs/common';
import { createHash, createHmac } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { IdentifierDigest } from './identifier-digest';

const config = (hashSecret: string | undefined, authToken: string | undefined) => ({ identity: { hashSecret }, twilio: { authToken } }) as unknown as AppConfig;
const PHONE = '+12015550100';

describe(IdentifierDigest.name, () => {
  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  });
  afterEach(() => jest.restoreAllMocks());

  it('is a keyed hash (HMAC-SHA256 with IDENTIFIER_HASH_SECRET), not a plain hash anyone can enumerate', () => {
    const digest = new IdentifierDigest(config('s'.repeat(32), 'token'));
    expect(digest.of(PHONE)).toBe(createHmac('sha256', 's'.repeat(32)).update(PHONE).digest('base64url').slice(0, 22));
    expect(digest.of(PHONE)).not.toBe(createHash('sha256').update(PHONE).digest('base64url').slice(0, 22));
    expect(digest.of(PHONE, 16)).toHaveLength(16);
    expect(new IdentifierDigest(config('t'.repeat(32), 'token')).of(PHONE)).not.toBe(digest.of(PHONE));
    expect(warnings).toEqual([]);
  });

  it('without the secret, derives one from the Twilio auth token every instance shares, and warns', () => {
    const a = new IdentifierDigest(config(undefined, 'the-auth-token'));
    const b = new IdentifierDigest(config(undefined, 'the-auth-token'));
    expect(a.of(PHONE)).toBe(b.of(PHONE));
    expect(a.of(PHONE)).not.toBe(createHmac('sha256', 'the-auth-token').update(PHONE).digest('base64url').slice(0, 22));
    expect(warnings.join('\n')).toMatch(/IDENTIFIER_HASH_SECRET is not set/);
    expect(warnings.join('\n')).not.toContain('the-auth-token');
  });

  it('without the secret or an auth token, generates one for this process, and warns', () => {
    const a = new IdentifierDigest(config(undefined, undefined));
    const b = new IdentifierDigest(config(undefined, undefined));
    expect(a.of(PHONE)).not.toBe(b.of(PHONE));
    expect(warnings).toHaveLength(2);
  });
});
