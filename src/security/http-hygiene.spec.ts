import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { loadConfig } from '../config/config';
import { headersOf, securityHeadersOptions } from './http-hygiene';

/** helmet with a script-src directive computed per reply, as helmet's documentation shows for nonces. */
const withScriptSrc = (directive: (req: IncomingMessage, res: ServerResponse) => string) =>
  helmet({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'", directive] } } });

describe(headersOf.name, () => {
  it("records the headers helmet sets for the service's options, by lower-cased name", () => {
    const headers = headersOf(helmet(securityHeadersOptions(loadConfig({}))));
    expect(headers).toMatchObject({
      'content-security-policy': expect.stringContaining("frame-ancestors 'self' https://flex.twilio.com"),
      'x-content-type-options': 'nosniff',
    });
    expect(headers).not.toHaveProperty('x-frame-options');
  });

  it('accepts a directive function that answers the same for every request', () => {
    expect(headersOf(withScriptSrc(() => 'https://cdn.example.com'))['content-security-policy']).toContain("script-src 'self' https://cdn.example.com");
  });

  it('refuses a CSP nonce: the directive reads the response', () => {
    expect(() => headersOf(withScriptSrc((_req, res) => `'nonce-${(res as ServerResponse & { locals: { nonce: string } }).locals.nonce}'`))).toThrow(
      "the security headers middleware read the response's locals",
    );
  });

  it('refuses a directive that reads the request', () => {
    expect(() => headersOf(withScriptSrc((req) => `https://${req.headers.host}`))).toThrow("the security headers middleware read the request's headers");
  });

  it('refuses a directive that answers differently each time, even without reading the request', () => {
    expect(() => headersOf(withScriptSrc(() => `'nonce-${randomBytes(16).toString('base64')}'`))).toThrow('answered two runs differently');
  });

  it('refuses a middleware that answers later', () => {
    expect(() => headersOf((_req, _res, next) => setImmediate(next))).toThrow('did not answer synchronously');
  });

  it("passes on the middleware's error", () => {
    expect(() => headersOf((_req, _res, next) => next(new Error('bad directive')))).toThrow('bad directive');
  });
});
