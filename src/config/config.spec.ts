import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('runs on the sandbox with nothing configured', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', sandbox: true, auth: { mode: 'dev' }, segment: { maxRps: 50, phoneIdType: 'phone' } });
    expect(config.publicBaseUrl).toBe('http://localhost:4000');
  });

  it('uses flex auth once Twilio credentials are given', () => {
    const config = loadConfig({ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', SEGMENT_SPACE_ID: 's', SEGMENT_ACCESS_TOKEN: 'x' });
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

  it('parses cluster nodes', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' }).redis.clusterNodes).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ]);
  });
});
