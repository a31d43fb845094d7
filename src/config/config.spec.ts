import { ConfigError, loadConfig } from './config';

/** Everything production needs. */
const LIVE: Record<string, string> = {
  SEGMENT_SPACE_ID: 'spa_1',
  SEGMENT_ACCESS_TOKEN: 'sgp_token',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'twilio-token',
  TWILIO_WORKSPACE_SID: `WS${'b'.repeat(32)}`,
  PUBLIC_BASE_URL: 'https://cc.example.com',
  SEGMENT_WEBHOOK_SECRET: 'segment-secret',
};

/** The variables a refusal names, in the order given. */
function refused(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as Error).message.matchAll(/^ {2}([A-Z_]+):/gm)].map((m) => m[1]);
  }
  return [];
}

const without = (...names: string[]): Record<string, string> => Object.fromEntries(Object.entries(LIVE).filter(([name]) => !names.includes(name)));

describe('loadConfig', () => {
  it('runs on the sandbox with nothing configured', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', sandbox: true, auth: { mode: 'dev' }, segment: { maxRps: 50, phoneIdType: 'phone' } });
    expect(config.publicBaseUrl).toBe('http://localhost:4000');
  });

  it('uses flex auth once Twilio credentials are given', () => {
    const config = loadConfig(LIVE);
    expect(config.sandbox).toBe(false);
    expect(config.auth.mode).toBe('flex');
  });

  it('names every bad variable', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', SEGMENT_MAX_RPS: '0', TWILIO_ACCOUNT_SID: 'nope', REDIS_CLUSTER_NODES: 'a:1,b' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT/);
    expect(attempt).toThrow(/SEGMENT_MAX_RPS/);
    expect(attempt).toThrow(/TWILIO_ACCOUNT_SID: an account SID/);
    expect(attempt).toThrow(/REDIS_CLUSTER_NODES: "b" is not host:port/);
  });

  it('bounds each upstream call, retries included: by default two attempts and the longest backoff', () => {
    expect(loadConfig({}).upstream).toMatchObject({ timeoutMs: 2_000, deadlineMs: 5_000 });
    expect(loadConfig({ UPSTREAM_TIMEOUT_MS: '20000' }).upstream.deadlineMs).toBe(41_000);
    expect(loadConfig({ UPSTREAM_DEADLINE_MS: '3000' }).upstream.deadlineMs).toBe(3_000);
    expect(loadConfig({ UPSTREAM_DEADLINE_MS: '2000' }).upstream.deadlineMs).toBe(2_000);
    expect(() => loadConfig({ UPSTREAM_DEADLINE_MS: '1999' })).toThrow(/UPSTREAM_DEADLINE_MS: must be at least UPSTREAM_TIMEOUT_MS \(2000\)/);
  });

  it('parses cluster nodes', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' }).redis.clusterNodes).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ]);
  });

  describe('refuses to start half configured', () => {
    it('starts live with everything set, and names no variable', () => {
      expect(refused(LIVE)).toEqual([]);
      expect(loadConfig(LIVE)).toMatchObject({ sandbox: false, segment: { configured: true }, twilio: { configured: true } });
      expect(refused({ ...LIVE, NODE_ENV: 'production' })).toEqual([]);
    });

    it.each(['SEGMENT_SPACE_ID', 'SEGMENT_ACCESS_TOKEN', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'])('names %s when the rest of its pair is set', (name) => {
      expect(refused(without(name))).toEqual([name]);
    });

    it.each([
      ['Segment', ['SEGMENT_SPACE_ID', 'SEGMENT_ACCESS_TOKEN']],
      ['Twilio', ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']],
    ])('names both %s variables when only the other upstream is configured (no sandbox for one side)', (_side, pair) => {
      expect(refused(without(...pair))).toEqual(pair);
    });

    it.each(['TWILIO_WORKSPACE_SID', 'SEGMENT_WEBHOOK_SECRET', 'PUBLIC_BASE_URL'])('names %s when it is missing (or blank) beside credentials', (name) => {
      expect(refused(without(name))).toEqual([name]);
      expect(refused({ ...LIVE, [name]: '  ' })).toEqual([name]);
    });

    it('wants an https PUBLIC_BASE_URL; plain http only on loopback, and never with NODE_ENV=production', () => {
      expect(refused({ ...LIVE, PUBLIC_BASE_URL: 'http://cc.example.com' })).toEqual(['PUBLIC_BASE_URL']);
      expect(refused({ ...LIVE, PUBLIC_BASE_URL: 'http://127.0.0.1:4000' })).toEqual([]);
      expect(refused({ ...LIVE, PUBLIC_BASE_URL: 'http://127.0.0.1:4000', NODE_ENV: 'production' })).toEqual(['PUBLIC_BASE_URL']);
    });

    it('one credential alone is enough to leave the sandbox: every other setting is then named', () => {
      expect(refused({ TWILIO_AUTH_TOKEN: 'twilio-token' })).toEqual([
        'SEGMENT_SPACE_ID',
        'SEGMENT_ACCESS_TOKEN',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_WORKSPACE_SID',
        'SEGMENT_WEBHOOK_SECRET',
        'PUBLIC_BASE_URL',
      ]);
    });

    it('with NODE_ENV=production and nothing set, names every variable instead of starting the sandbox', () => {
      expect(refused({ NODE_ENV: 'production' })).toEqual(Object.keys(LIVE).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)));
    });

    it('runs the sandbox only when no upstream credential is set at all', () => {
      const { SEGMENT_SPACE_ID: _a, SEGMENT_ACCESS_TOKEN: _b, TWILIO_ACCOUNT_SID: _c, TWILIO_AUTH_TOKEN: _d, ...rest } = LIVE;
      expect(loadConfig(rest).sandbox).toBe(true);
      expect(loadConfig({ NODE_ENV: 'development' }).sandbox).toBe(true);
    });
  });
});

const ORDER = [
  'SEGMENT_SPACE_ID',
  'SEGMENT_ACCESS_TOKEN',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_WORKSPACE_SID',
  'SEGMENT_WEBHOOK_SECRET',
  'PUBLIC_BASE_URL',
];
