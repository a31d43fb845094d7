import { ConfigError, loadConfig } from '../config/config';

/** Real upstream credentials and everything production needs beside them. */
const TWILIO = {
  SEGMENT_SPACE_ID: 'spa_1',
  SEGMENT_ACCESS_TOKEN: 'sgp_token',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 't',
  TWILIO_WORKSPACE_SID: `WS${'b'.repeat(32)}`,
  PUBLIC_BASE_URL: 'https://cc.example.com',
  SEGMENT_WEBHOOK_SECRET: 'segment-secret',
};

describe('security configuration', () => {
  it('is closed by default: Flex only for CORS, no introspection or IDE, limits on', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ corsOrigins: ['https://flex.twilio.com'], trustProxy: false, rateLimit: { workerMax: 600, ipMax: 6_000 } });
    expect(config.graphql).toMatchObject({
      introspection: false,
      ide: false,
      maxDepth: 10,
      maxComplexity: 5_000,
      maxQueryBytes: 16_384,
      persistedQueries: { only: false },
    });
    expect(config.access).toEqual({ policyFile: undefined, strict: false, strictCacheMs: 10_000 });
  });

  it('reads origins, proxies and flags', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://flex.twilio.com, https://crm.example.com',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      ACCESS_STRICT: '1',
      GRAPHQL_IDE: 'true',
    });
    expect(config.http.corsOrigins).toEqual(['https://flex.twilio.com', 'https://crm.example.com']);
    expect(config.http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(config.access.strict).toBe(true);
    expect(config.graphql.ide).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
  });

  it('refuses a wildcard origin, dev auth with real credentials, and persisted-only without queries', () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://*.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...TWILIO, AUTH_MODE: 'dev' })).toThrow(/AUTH_MODE: dev is only for the sandbox/);
    expect(loadConfig({ ...TWILIO }).auth.mode).toBe('flex');
    expect(() => loadConfig({ GRAPHQL_PERSISTED_ONLY: 'true' })).toThrow(/GRAPHQL_PERSISTED_ONLY: needs GRAPHQL_PERSISTED_QUERIES_FILE/);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'yes' })).toThrow(/GRAPHQL_INTROSPECTION/);
  });
});
