import type { ExecutionContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio';
import { DomainError, ErrorCode } from '../common/errors';
import type { AppConfig } from '../config/config';
import { hasValidTwilioSignature, TwilioSignatureGuard } from './twilio-signature.guard';

// twilio-node spec/validation.spec.js, quoted in WIRE-FORMATS.md.
const TOKEN = '12345';
const URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
const SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

describe('hasValidTwilioSignature', () => {
  const check = (overrides: Partial<Parameters<typeof hasValidTwilioSignature>[0]>) =>
    hasValidTwilioSignature({ authToken: TOKEN, signature: SIGNATURE, url: URL, params: PARAMS, ...overrides });

  it("accepts twilio-node's test vector", () => {
    expect(check({})).toBe(true);
  });

  it('accepts the URL with its default port added, as twilio-node does', () => {
    expect(check({ url: 'https://mycompany.com:443/myapp.php?foo=1&bar=2' })).toBe(true);
  });

  it.each([
    ['a forged signature', { signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B9=' }],
    ['a truncated signature', { signature: SIGNATURE.slice(0, -2) }],
    ['an empty signature', { signature: '' }],
    ['no signature', { signature: undefined }],
    ['another auth token', { authToken: '54321' }],
    ['no auth token configured', { authToken: '' }],
    ['another URL', { url: 'https://mycompany.com/myapp.php?foo=1&bar=3' }],
    ['a changed parameter', { params: { ...PARAMS, Digits: '1235' } }],
    ['an added parameter', { params: { ...PARAMS, Extra: '1' } }],
    ['a missing parameter', { params: { CallSid: PARAMS.CallSid } }],
    ['a URL nothing can parse', { url: 'not a url' }],
  ])('refuses %s', (_name, overrides) => {
    expect(check(overrides)).toBe(false);
  });

  it('covers every value of a repeated key', () => {
    const params = { EventType: 'task.created', Tag: ['b', 'a'] };
    const signature = getExpectedTwilioSignature(TOKEN, URL, params);
    expect(check({ params, signature })).toBe(true);
    expect(check({ params: { ...params, Tag: ['b'] }, signature })).toBe(false);
  });

  describe('JSON bodies (bodySHA256)', () => {
    const body = Buffer.from('{"from":"+14158675309"}');
    const hash = createHash('sha256').update(body).digest('hex');
    const url = `https://mycompany.com/routing/attributes?bodySHA256=${hash}`;
    const signature = getExpectedTwilioSignature(TOKEN, url, {});

    it('accepts a body whose hash the signed URL carries', () => {
      expect(check({ url, signature, params: undefined, rawJsonBody: body })).toBe(true);
    });

    it('refuses a changed body under a valid URL signature', () => {
      expect(check({ url, signature, params: undefined, rawJsonBody: Buffer.from('{"from":"+10000000000"}') })).toBe(false);
    });

    it('refuses a JSON body signed without bodySHA256: the body would not be covered', () => {
      const bare = 'https://mycompany.com/routing/attributes';
      expect(check({ url: bare, signature: getExpectedTwilioSignature(TOKEN, bare, {}), params: undefined, rawJsonBody: body })).toBe(false);
    });
  });
});

describe(TwilioSignatureGuard.name, () => {
  const config = { twilio: { authToken: TOKEN }, publicBaseUrl: 'https://mycompany.com' } as AppConfig;
  const guard = new TwilioSignatureGuard(config);
  const contextFor = (request: { url: string; headers: Record<string, string>; body?: unknown }) =>
    ({ switchToHttp: () => ({ getRequest: () => ({ ...request, raw: { url: request.url } }) }) }) as unknown as ExecutionContext;

  it('checks against PUBLIC_BASE_URL and the path as received, not the Host header', () => {
    const context = contextFor({
      url: '/myapp.php?foo=1&bar=2',
      headers: { host: 'internal:4000', 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': SIGNATURE },
      body: PARAMS,
    });
    expect(guard.canActivate(context)).toBe(true);
  });

  it('throws FORBIDDEN for a bad signature', () => {
    const context = contextFor({ url: '/myapp.php?foo=1&bar=2', headers: { 'x-twilio-signature': 'forged' }, body: PARAMS });
    expect(() => guard.canActivate(context)).toThrow(expect.objectContaining({ code: ErrorCode.FORBIDDEN }) as DomainError);
  });

  it('refuses JSON on a route that keeps no raw body: its bytes cannot be checked', () => {
    const url = '/routing/attributes?bodySHA256=abc';
    const context = contextFor({
      url,
      headers: { 'content-type': 'application/json', 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, `https://mycompany.com${url}`, {}) },
      body: {},
    });
    expect(() => guard.canActivate(context)).toThrow(DomainError);
  });
});
