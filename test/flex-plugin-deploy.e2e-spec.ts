import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Twilio } from 'twilio';
import { deployFlexPlugin, DeployError, deployOptions, type DeployOptions } from '../scripts/flex-plugin-deploy';
import { loadConfig } from '../src/config/config';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { sandboxConfig } from '../src/sandbox/sandbox-config';
import { createTwilioClient } from '../src/twilio/twilio-client';
import { openApi, TWILIO_OAI_FIXTURES } from './support/twilio-oai';

/**
 * `npm run flex-plugin:deploy` against the sandbox's Flex Plugins API: twilio-node's calls in
 * order, a second run that writes nothing, and answers valid against Twilio's OpenAPI document.
 */
describe('flex-plugin:deploy', () => {
  let sandbox: Sandbox;
  let client: Twilio;
  let flexApi: ReturnType<typeof openApi>;
  const options: DeployOptions = deployOptions('https://context.example.com');

  /** The Plugins API calls since the last reset, with sids shown as their kind. */
  const calls = (): string[] =>
    sandbox.calls
      .log()
      .filter((call) => call.route === 'flex_plugin_service')
      .map((call) => `${call.method} ${call.path.split('?')[0].replace(/\b(F[PVJK])[0-9a-f]{32}\b/g, '$1…')}`);
  function expectValid(validate: ValidateFunction, body: unknown): void {
    const valid = validate(body);
    expect(valid ? [] : validate.errors).toEqual([]);
  }
  const get = async (path: string): Promise<unknown> => {
    const { accountSid, authToken } = sandbox.credentials;
    const response = await fetch(`${sandbox.twilioUrl}${path}`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64') },
    });
    expect(response.status).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 0, quiet: true });
    client = createTwilioClient(sandboxConfig(loadConfig({ LOG_LEVEL: 'silent' }), sandbox)).client;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('uri-map', true);
    flexApi = openApi(ajv, join(TWILIO_OAI_FIXTURES, 'twilio_flex_v1.json'), 'flex');
  });
  afterAll(() => sandbox.close());

  it('registers the plugin, its version, a configuration and a release, in that order; a second run changes nothing', async () => {
    expect(options).toMatchObject({ uniqueName: 'plugin-customer-context', pluginUrl: 'https://context.example.com/flex-plugin/plugin-customer-context.js' });
    sandbox.calls.reset();
    const lines: string[] = [];
    const first = await deployFlexPlugin(client, options, (line) => lines.push(line));
    expect(calls()).toEqual([
      'GET /v1/PluginService/Plugins',
      'POST /v1/PluginService/Plugins',
      'GET /v1/PluginService/Plugins/FP…/Versions',
      'POST /v1/PluginService/Plugins/FP…/Versions',
      'GET /v1/PluginService/Releases',
      'POST /v1/PluginService/Configurations',
      'POST /v1/PluginService/Releases',
    ]);
    expect(first.released).toBe(true);
    expect(lines.at(-1)).toBe(`released: ${first.releaseSid}`);

    // What Flex now loads, as the API reports it (and in the documented shapes).
    const releases = (await get('/v1/PluginService/Releases')) as { releases: Array<{ sid: string; configuration_sid: string }> };
    expectValid(flexApi.response('/v1/PluginService/Releases', 'get', 200), releases);
    expect(releases.releases.map((r) => r.sid)).toEqual([first.releaseSid]);
    const configured = await get(`/v1/PluginService/Configurations/${first.configurationSid}/Plugins`);
    expectValid(flexApi.response('/v1/PluginService/Configurations/{ConfigurationSid}/Plugins', 'get', 200), configured);
    expect((configured as { plugins: unknown[] }).plugins).toEqual([
      expect.objectContaining({
        unique_name: 'plugin-customer-context',
        version: options.version,
        plugin_url: options.pluginUrl,
        plugin_version_sid: first.pluginVersionSid,
      }),
    ]);
    expectValid(flexApi.response('/v1/PluginService/Plugins', 'get', 200), await get('/v1/PluginService/Plugins'));
    expectValid(
      flexApi.response('/v1/PluginService/Plugins/{PluginSid}/Versions', 'get', 200),
      await get(`/v1/PluginService/Plugins/${first.pluginSid}/Versions`),
    );

    sandbox.calls.reset();
    const second = await deployFlexPlugin(client, options);
    expect(calls()).toEqual([
      'GET /v1/PluginService/Plugins',
      'GET /v1/PluginService/Plugins/FP…/Versions',
      'GET /v1/PluginService/Releases',
      'GET /v1/PluginService/Configurations/FJ…/Plugins',
    ]);
    expect(second).toEqual({ ...first, released: false });
  });

  it("releases a new version beside the other plugins Flex runs, in place of this plugin's older one", async () => {
    const other = await client.flexApi.v1.plugins.create({ uniqueName: 'plugin-other' });
    const otherVersion = await client.flexApi.v1
      .plugins(other.sid)
      .pluginVersions.create({ versionParam: '2.0.0', pluginUrl: 'https://assets.example.com/other.js' });
    const current = (await client.flexApi.v1.pluginReleases.list())[0];
    const running = await client.flexApi.v1.pluginConfigurations(current.configurationSid).plugins.list();
    const configuration = await client.flexApi.v1.pluginConfigurations.create({
      name: 'with other',
      plugins: [...running.map((p) => ({ plugin_version: p.pluginVersionSid, phase: p.phase })), { plugin_version: otherVersion.sid, phase: 3 }],
    });
    await client.flexApi.v1.pluginReleases.create({ configurationId: configuration.sid });

    const next = await deployFlexPlugin(client, { ...options, version: '0.2.0' });
    expect(next.released).toBe(true);
    const now = await client.flexApi.v1.pluginConfigurations(next.configurationSid).plugins.list();
    expect(now.map((p) => `${p.uniqueName}@${p.version}`).sort()).toEqual(['plugin-customer-context@0.2.0', 'plugin-other@2.0.0']);
    expect((await client.flexApi.v1.pluginReleases.list())[0].sid).toBe(next.releaseSid);
  });

  it('refuses to register a version number again for another bundle URL', async () => {
    sandbox.calls.reset();
    await expect(deployFlexPlugin(client, { ...options, pluginUrl: 'https://elsewhere.example.com/flex-plugin/plugin-customer-context.js' })).rejects.toThrow(
      DeployError,
    );
    expect(calls().filter((call) => call.startsWith('POST'))).toEqual([]);
  });
});
